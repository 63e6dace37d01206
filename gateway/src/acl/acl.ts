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
      return new GatewayAcl(principal.groupId, principal.edgeNodeId, options.primaryHostId);
    case 'user':
      return userAcl(principal.role, principal.sites);
  }
}

/**
 * An edge node publishes only its own Sparkplug messages and reads only its own commands and the
 * primary host's STATE. Sparkplug topics: spBv1.0/<group>/<type>/<edge node>[/<device>]
 * ([tck-id-topic-structure]); NCMD/DCMD are written by the host, never by an edge node.
 *
 * A class holding the three ids, not closures over topic strings built at CONNECT: an idle
 * connection keeps its ACL for life, and the closures, their context and the joined strings
 * (~0.5 KiB) were most of what the gateway itself held per connection. Filters are built on
 * SUBSCRIBE, which an edge node sends once or twice per connection.
 */
class GatewayAcl implements Acl {
  constructor(
    private readonly groupId: string,
    private readonly edgeNodeId: string,
    private readonly primaryHostId: string,
  ) {}

  canPublish(topic: string): boolean {
    const [namespace, group, type, node, device, ...more] = topic.split('/');
    if (namespace !== sparkplugNamespace || group !== this.groupId || node !== this.edgeNodeId) return false;
    if (type === undefined || more.length > 0) return false;
    if (nodeUplink.has(type)) return device === undefined;
    if (deviceUplink.has(type)) return device !== undefined && device.length > 0;
    return false;
  }

  canSubscribe(filter: string): boolean {
    const prefix = `${sparkplugNamespace}/${this.groupId}/`;
    return [
      `${prefix}NCMD/${this.edgeNodeId}`,
      `${prefix}NCMD/${this.edgeNodeId}/#`,
      `${prefix}DCMD/${this.edgeNodeId}/#`,
      `${sparkplugNamespace}/STATE/${this.primaryHostId}`,
    ].some((p) => filterWithin(filter, p));
  }
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
