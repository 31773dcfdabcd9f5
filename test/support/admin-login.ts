/** Logs in as `admin` with basic auth at `apiUrl` (POST /v1/users/login) and returns the bearer token; throws on anything but 200. */
export async function adminToken(apiUrl: string, password: string): Promise<string> {
  const basic = Buffer.from(`admin:${password}`).toString('base64');
  const response = await fetch(`${apiUrl}/v1/users/login`, { method: 'POST', headers: { authorization: `Basic ${basic}` } });
  const body = (await response.json()) as { users?: { token: string }[] };
  const token = body.users?.[0]?.token;
  if (response.status !== 200 || token === undefined) throw new Error(`login failed: ${response.status} ${JSON.stringify(body)}`);
  return token;
}
