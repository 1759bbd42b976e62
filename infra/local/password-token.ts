/** A user of the local cloud with the project their token is scoped to (all in the Default domain). */
export interface Credentials {
  username: string;
  password: string;
  project: string;
}

/** `POST /identity/v3/auth/tokens` with a password, project-scoped, as the `openstack` CLI does; returns the token. */
export async function issuePasswordToken(authUrl: string, who: Credentials): Promise<string> {
  const res = await fetch(`${authUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: who.username, domain: { id: 'default' }, password: who.password } } },
        scope: { project: { name: who.project, domain: { id: 'default' } } },
      },
    }),
  });
  if (res.status !== 201) throw new Error(`token issue for ${who.username} failed: ${res.status} ${await res.text()}`);
  return res.headers.get('x-subject-token')!;
}
