// The address the per-client stream cap counts (MAX_STREAMS_PER_CLIENT): CF-Connecting-IP, which
// Cloudflare's edge sets on every request (a client cannot choose it there). An IPv6 client
// usually has a whole /64 to itself, so it is counted by that prefix, or it could take a new
// address for every stream.

/** The key a client's streams are counted under; null without the header (not through the edge: tests). */
export function clientAddress(header: string | undefined): string | null {
  const ip = header?.trim().toLowerCase().slice(0, 64);
  if (!ip) return null;
  if (!ip.includes(":")) return ip;
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(ip); // ::ffff:192.0.2.1 and the like: the IPv4 client
  if (v4) return v4[1]!;
  const [left = "", right] = ip.split("::", 2);
  const head = left ? left.split(":") : [];
  const tail = right ? right.split(":") : [];
  const groups = right === undefined ? head : [...head, ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill("0"), ...tail];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
