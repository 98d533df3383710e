/**
 * Tenant and database resolution from the server's `GET /auth/identity`, for clients whose settings have
 * `chromaOverwriteSingletonTenantDatabaseAccessFromAuth` (`CloudClient` sets it). Chroma's rules
 * (`chromadb/auth/utils.maybe_set_tenant_and_database`): an identity scoped to one tenant (not `"*"`) and to exactly
 * one database (not `"*"`) supplies them where the caller gave none or the default; a different explicit value is an
 * auth error. What still cannot be determined fails with Chroma's messages (the official JS client's for databases).
 */
import { ChromaUnauthorizedError, ChromaValueError } from "../errors.js";
import { DEFAULT_DATABASE, DEFAULT_TENANT } from "../settings.js";
import type { UserIdentity } from "../types.js";

/** The tenant and database a client asked for; `undefined` = resolve from the identity. */
export interface RequestedScope {
  tenant: string | undefined;
  database: string | undefined;
}

/**
 * The tenant and database the client will use.
 * @throws ChromaUnauthorizedError when an explicit value contradicts the identity, or no tenant can be found.
 * @throws ChromaValueError when the identity spans several databases and none was given.
 */
export function resolveScope(identity: UserIdentity, requested: RequestedScope): { tenant: string; database: string } {
  const identityTenant = identity.tenant && identity.tenant !== "*" ? identity.tenant : undefined;
  const databases = [...new Set(identity.databases ?? [])];
  const identityDatabase = databases.length === 1 && databases[0] !== "*" ? databases[0] : undefined;

  const explicitTenant = requested.tenant && requested.tenant !== DEFAULT_TENANT ? requested.tenant : undefined;
  const explicitDatabase = requested.database && requested.database !== DEFAULT_DATABASE ? requested.database : undefined;
  if (explicitTenant && identityTenant && explicitTenant !== identityTenant) {
    throw new ChromaUnauthorizedError(
      `Tenant ${explicitTenant} does not match ${identityTenant} from the server. Are you sure the tenant is correct?`,
    );
  }
  if (explicitDatabase && identityDatabase && explicitDatabase !== identityDatabase) {
    throw new ChromaUnauthorizedError(
      `Database ${explicitDatabase} does not match ${identityDatabase} from the server. Are you sure the database is correct?`,
    );
  }

  const tenant = explicitTenant ?? identityTenant ?? requested.tenant;
  if (!tenant) {
    throw new ChromaUnauthorizedError(
      "Could not determine a tenant from the current authentication method. Please provide a tenant.",
    );
  }
  const database = explicitDatabase ?? identityDatabase ?? requested.database;
  if (!database) {
    if (databases.length === 0) {
      throw new ChromaUnauthorizedError(`Your API key does not have access to any DBs for tenant ${tenant}`);
    }
    throw new ChromaValueError(
      "Your API key is scoped to more than 1 DB. Please provide a DB name to the CloudClient constructor",
    );
  }
  return { tenant, database };
}
