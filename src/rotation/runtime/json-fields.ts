/**
 * Replaces top-level members of a JSON object in its text, leaving every other
 * byte as it was: the fields rotation does not own keep their exact spelling
 * and type (a port written as the string "5432" stays a string, 1.50 stays
 * 1.50, key order and escapes are unchanged). The input must be valid JSON
 * (it was parsed before).
 */
export function replaceMembers(json: string, updates: Readonly<Record<string, unknown>>): string {
  let i = skipWhitespace(json, 0);
  if (json[i] !== '{') throw new Error('not a JSON object');
  i = skipWhitespace(json, i + 1);
  const spans: Array<{ key: string; start: number; end: number }> = [];
  let close = i;
  while (json[i] !== '}') {
    const keyEnd = scanString(json, i);
    const key = JSON.parse(json.slice(i, keyEnd)) as string;
    i = skipWhitespace(json, keyEnd);
    if (json[i] !== ':') throw new Error('not a JSON object');
    const start = skipWhitespace(json, i + 1);
    const end = scanValue(json, start);
    spans.push({ key, start, end });
    i = skipWhitespace(json, end);
    if (json[i] === ',') i = skipWhitespace(json, i + 1);
    else if (json[i] !== '}') throw new Error('not a JSON object');
  }
  close = i;
  let out = json;
  // From the last member to the first, so earlier offsets stay valid (a duplicated key: every copy).
  for (const span of [...spans].reverse()) {
    if (Object.prototype.hasOwnProperty.call(updates, span.key)) {
      out = out.slice(0, span.start) + JSON.stringify(updates[span.key]) + out.slice(span.end);
    }
  }
  const missing = Object.keys(updates).filter(key => !spans.some(s => s.key === key));
  if (missing.length > 0) {
    const offset = out.length - (json.length - close);
    const added = missing.map(key => `${JSON.stringify(key)}:${JSON.stringify(updates[key])}`).join(',');
    out = out.slice(0, offset) + (spans.length > 0 ? ',' : '') + added + out.slice(offset);
  }
  return out;
}

function skipWhitespace(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  return i;
}

/** The index just after the string starting at `i`. */
function scanString(s: string, i: number): number {
  if (s[i] !== '"') throw new Error('not a JSON object');
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === '"') return j + 1;
  }
  throw new Error('unterminated string');
}

/** The index just after the value starting at `i`. */
function scanValue(s: string, i: number): number {
  if (s[i] === '"') return scanString(s, i);
  if (s[i] === '{' || s[i] === '[') {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const c = s[j];
      if (c === '"') {j = scanString(s, j) - 1;} else if (c === '{' || c === '[') {depth++;} else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new Error('unterminated value');
  }
  let j = i;
  while (j < s.length && !',}] \t\n\r'.includes(s[j])) j++;
  return j;
}
