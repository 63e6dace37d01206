import { packageVersion } from '@bitv/shared/cli';

/** Reported in NBIRTH (`agent/version`) and by `bitv-edge --version`: the package's own version. */
export const agentVersion = packageVersion(new URL('../package.json', import.meta.url));
