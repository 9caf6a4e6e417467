/**
 * A small ustar writer (regular files only; a PAX header for a long or
 * non-ASCII name), so uploads need no dependency and work in browsers.
 */
const enc = new TextEncoder();

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

function header(name: string, size: number, mode: number, type: string): Uint8Array {
  const h = new Uint8Array(512);
  const put = (s: string | Uint8Array, off: number) => h.set(typeof s === "string" ? enc.encode(s) : s, off);
  put(enc.encode(name).slice(0, 100), 0);
  put(octal(mode, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(0, 12), 136);
  put("        ", 148);
  put(type, 156);
  put("ustar\0" + "00", 257);
  let sum = 0;
  for (const b of h) sum += b;
  put(octal(sum, 7) + " ", 148);
  return h;
}

function pad(n: number): number {
  return (512 - (n % 512)) % 512;
}

export interface TarFile { name: string; data: Uint8Array; mode?: number }

/** The tar archive of files, in order. */
export function tarPack(files: TarFile[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const nameBytes = enc.encode(f.name);
    // eslint-disable-next-line no-control-regex
    if (nameBytes.length > 100 || /[^\x20-\x7e]/.test(f.name)) {
      const body = ` path=${f.name}\n`;
      const bl = enc.encode(body).length;
      let len = bl + 1;
      while (String(len).length + bl !== len) len = String(len).length + bl;
      const rec = `${len}${body}`;
      const pax = enc.encode(rec);
      parts.push(header("PaxHeader/" + f.name.slice(-80).replace(/[^\x20-\x7e]/g, "_"),
                        pax.length, 0o644, "x"), pax, new Uint8Array(pad(pax.length)));
    }
    parts.push(header(f.name.replace(/[^\x20-\x7e]/g, "_"), f.data.length, f.mode ?? 0o644, "0"),
               f.data, new Uint8Array(pad(f.data.length)));
  }
  parts.push(new Uint8Array(1024));
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
