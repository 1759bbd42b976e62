/**
 * Key layout of the single table. Every item has `pk`, `sk` and `type`.
 *
 * | item              | pk                   | sk                 | gsi1 (pk / sk)                      | gsi2 (pk / sk)           | gsi3 (pk / sk)          |
 * |-------------------|----------------------|--------------------|-------------------------------------|--------------------------|-------------------------|
 * | instance          | INSTANCE#<id>        | INSTANCE           | PROJECT#<pid>#INSTANCES / <created>#<id> | TYPE#INSTANCE / <created>#<id> | DEADLINE / <iso deadline>#<id> (only while a task runs) |
 * | instance action   | INSTANCE#<id>        | ACTION#<request id> | (events inside; `expires_at` set once the instance is gone) |  |                         |
 * | guest diagnostics | INSTANCE#<id>        | DIAGNOSTICS#<host> | (latest sample its host sent; `expires_at` an hour after it: TTL; store/instance-diagnostics.ts) |  |  |
 * | host (compute)    | HOST#<name>          | HOST               |                                     | TYPE#HOST / <name>       |                         |
 * | flavor            | FLAVOR#<id>          | FLAVOR             |                                     | TYPE#FLAVOR / <id>       |                         |
 * | flavor access     | FLAVOR#<id>          | ACCESS#<project>   |                                     |                          |                         |
 * | flavor name       | FLAVORNAME#<name>    | NAME               | (guard: makes names unique, holds `flavor_id`) |                          |                         |
 * | image             | IMAGE#<id>           | IMAGE              |                                     | TYPE#IMAGE / <created>#<id> |                      |
 * | keypair           | USER#<uid>           | KEYPAIR#<name>     |                                     |                          |                         |
 * | project           | PROJECT#<id>         | PROJECT            |                                     | TYPE#PROJECT / <name>    |                         |
 * | project name      | PROJECTNAME#<domain>#<name> | NAME        | (guard: makes names unique per domain, holds `project_id`) |   |                         |
 * | user              | USER#<id>            | USER               |                                     | TYPE#USER / <name>       |                         |
 * | user name         | USERNAME#<domain>#<name> | NAME           | (guard: makes names unique per domain, holds `user_id`) |      |                         |
 * | role              | ROLE#<id>            | ROLE               |                                     | TYPE#ROLE / <name>       |                         |
 * | role name         | ROLENAME#<name>      | NAME               | (guard: makes names unique, holds `role_id`) |                 |                         |
 * | role assignment   | PROJECT#<pid>        | ASSIGNMENT#<uid>#<role id> | USER#<uid>#ASSIGNMENTS / <pid>#<role id> | TYPE#ASSIGNMENT / <pid>#<uid>#<role id> |  |
 * | quota usage       | PROJECT#<pid>        | QUOTA_USAGE        |                                     |                          |                         |
 * | used console token | CONSOLETOKEN#<jti> | USED             | (`expires_at` = the token's expiry: TTL) |          |                         |
 * | token revocation  | REVOKED#<token or event id> | REVOKED     |                                     | TYPE#REVOCATION / <iso expiry> |                   |
 * | migration         | MIGRATION#<uuid>     | MIGRATION          | MIGRATIONS#UNCONFIRMED / <finished at>#<uuid> (only while `finished`: auto-confirm) | TYPE#MIGRATION / <created>#<id> |  |
 */
export const keys = {
  instance: (id: string) => ({ pk: `INSTANCE#${id}`, sk: 'INSTANCE' }),
  instanceAction: (instanceId: string, requestId: string) => ({ pk: `INSTANCE#${instanceId}`, sk: `ACTION#${requestId}` }),
  host: (name: string) => ({ pk: `HOST#${name}`, sk: 'HOST' }),
  flavor: (id: string) => ({ pk: `FLAVOR#${id}`, sk: 'FLAVOR' }),
  flavorAccess: (flavorId: string, projectId: string) => ({ pk: `FLAVOR#${flavorId}`, sk: `ACCESS#${projectId}` }),
  /** Holds a flavor name while a flavor has it: names are unique, and DynamoDB enforces that only on keys. */
  flavorName: (name: string) => ({ pk: `FLAVORNAME#${name}`, sk: 'NAME' }),
  image: (id: string) => ({ pk: `IMAGE#${id}`, sk: 'IMAGE' }),
  keypair: (userId: string, name: string) => ({ pk: `USER#${userId}`, sk: `KEYPAIR#${name}` }),
  project: (id: string) => ({ pk: `PROJECT#${id}`, sk: 'PROJECT' }),
  user: (id: string) => ({ pk: `USER#${id}`, sk: 'USER' }),
  role: (id: string) => ({ pk: `ROLE#${id}`, sk: 'ROLE' }),
  projectName: (domainId: string, name: string) => ({ pk: `PROJECTNAME#${domainId}#${name}`, sk: 'NAME' }),
  userName: (domainId: string, name: string) => ({ pk: `USERNAME#${domainId}#${name}`, sk: 'NAME' }),
  roleName: (name: string) => ({ pk: `ROLENAME#${name}`, sk: 'NAME' }),
  assignment: (projectId: string, userId: string, roleId: string) => ({
    pk: `PROJECT#${projectId}`,
    sk: `ASSIGNMENT#${userId}#${roleId}`,
  }),
  quotaUsage: (projectId: string) => ({ pk: `PROJECT#${projectId}`, sk: 'QUOTA_USAGE' }),
  /** One user's share of the project's usage (servers, cores, RAM), for per-user quotas. */
  userQuotaUsage: (projectId: string, userId: string) => ({ pk: `PROJECT#${projectId}`, sk: `QUOTA_USAGE#USER#${userId}` }),
  revocation: (tokenId: string) => ({ pk: `REVOKED#${tokenId}`, sk: 'REVOKED' }),
  usedConsoleToken: (jti: string) => ({ pk: `CONSOLETOKEN#${jti}`, sk: 'USED' }),
  /** A resize or cold migration (store/migrations.ts). */
  migration: (uuid: string) => ({ pk: `MIGRATION#${uuid}`, sk: 'MIGRATION' }),
} as const;

export const byType = (type: string) => `TYPE#${type}`;
export const userAssignments = (userId: string) => `USER#${userId}#ASSIGNMENTS`;
export const projectInstances = (projectId: string) => `PROJECT#${projectId}#INSTANCES`;
export const DEADLINE_PARTITION = 'DEADLINE';
export const UNCONFIRMED_MIGRATIONS = 'MIGRATIONS#UNCONFIRMED';
