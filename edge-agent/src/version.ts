import pkg from '../package.json' with { type: 'json' };

/**
 * Reported in NBIRTH (`agent/version`) and by `bitv-edge --version`: the package's own version,
 * imported so that the deployed bundle carries it inside.
 */
export const agentVersion: string = pkg.version;
