/** Reported in NBIRTH (`agent/version`) and by `bitv-edge --version`. */
export const agentVersion = '0.1.0';
