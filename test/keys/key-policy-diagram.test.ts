/**
 * The README's key-policy diagram (docs/key-policy.svg, Mermaid source docs/key-policy.mmd) is
 * generated from the role model by scripts/key-policy-diagram.ts: it must say what the model says.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { mermaid, STATEMENTS } from '../../scripts/key-policy-diagram';
import { SID } from '../../src/keys/policy-builder';

const docs = (f: string) => readFileSync(path.join(__dirname, '../../docs', f), 'utf-8');

test('the committed Mermaid source is the one the role model gives', () => {
  expect(docs('key-policy.mmd')).toBe(mermaid()); // else: npx projen diagram
});

test('the diagram names every statement of the role model, and the SVG holds every text of it', () => {
  expect(STATEMENTS.map(s => s.sid).sort()).toEqual(Object.values(SID).sort());
  const svg = docs('key-policy.svg').replace(/&#45;/g, '-').replace(/&#160;/g, ' ');
  for (const s of STATEMENTS) {
    expect(svg).toContain(`>${s.sid}</text>`);
    expect(svg).toContain(`>${s.text.replace(/&/g, '&amp;')}</text>`);
  }
});
