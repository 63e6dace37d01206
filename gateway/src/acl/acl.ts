import type { Role } from '@bitv/shared/auth';
import type { Principal } from '../auth/principal.js';
import { filterWithin } from './topics.js';

/**
 * Deny by default: a connection may publish and subscribe only where its principal's rules say.
 * Rules are built once per connection at CONNECT, then checked per packet.
 */
export interface Acl {
  canPublish(topic: string): boolean;
  canSubscribe(filter: string): boolean;
}

export interface AclOptions {
  primaryHostId: string;
}

const sparkplugNamespace = 'spBv1.0';
const nodeUplink = new Set(['NBIRTH', 'NDEATH', 'NDATA']);
const deviceUplink = new Set(['DBIRTH', 'DDEATH', 'DDATA']);

export const allowAll: Acl = { canPublish: () => true, canSubscribe: () => true };

export function aclFor(principal: Principal, options: AclOptions): Acl {
  switch (principal.kind) {
    case 'anonymous':
      return allowAll;
    case 'gateway':
      return gatewayAcl(principal.groupId, principal.edgeNodeId, options.primaryHostId);
    case 'user':
      return userAcl(principal.role, principal.sites);
  }
}

/**
 * An edge node publishes only its own Sparkplug messages and reads only its own commands and the
 * primary host's STATE. Sparkplug topics: spBv1.0/<group>/<type>/<edge node>[/<device>]
 * ([tck-id-topic-structure]); NCMD/DCMD are written by the host, never by an edge node.
 */
function gatewayAcl(groupId: string, edgeNodeId: string, primaryHostId: string): Acl {
  const prefix = `${sparkplugNamespace}/${groupId}/`;
  const subscribable = [
    `${prefix}NCMD/${edgeNodeId}`,
    `${prefix}NCMD/${edgeNodeId}/#`,
    `${prefix}DCMD/${edgeNodeId}/#`,
    `${sparkplugNamespace}/STATE/${primaryHostId}`,
  ];
  return {
    canPublish(topic) {
      if (!topic.startsWith(prefix)) return false;
      const rest = topic.slice(prefix.length).split('/');
      const [type, node, device] = rest;
      if (type === undefined || node !== edgeNodeId) return false;
      if (nodeUplink.has(type)) return rest.length === 2;
      if (deviceUplink.has(type)) return rest.length === 3 && device !== undefined && device.length > 0;
      return false;
    },
    canSubscribe: (filter) => subscribable.some((p) => filterWithin(filter, p)),
  };
}

/**
 * People read; they never publish (commands go through the cloud API, which checks the role and
 * audits). What they may read depends on the role and, when the token lists them, the sites.
 */
function userAcl(role: Role, sites: readonly string[] | undefined): Acl {
  const within = (root: string) => (sites === undefined ? [`${root}/#`] : sites.map((s) => `${root}/${s}/#`));
  const patterns: string[] = [];
  if (role === 'staff' || role === 'operator' || role === 'admin') patterns.push(...within('bv'));
  if (role === 'operator' || role === 'admin') {
    patterns.push(...within(sparkplugNamespace), `${sparkplugNamespace}/STATE/#`);
  }
  if (role === 'admin') patterns.push('$SYS/#');
  return {
    canPublish: () => false,
    canSubscribe: (filter) => patterns.some((p) => filterWithin(filter, p)),
  };
}
