/** Reading text data: CRLF and lone CR are read as LF by default (as Python's text mode), raw keeps them. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { newlineNote, normaliseNewlines, readText } from '../../../engine/util/text';

describe('text data', () => {
  it('reads CRLF and lone CR as LF and counts each, or keeps them in raw mode', () => {
    const text = 'a\r\nb\rc\n\r\n\rd';
    assert.deepEqual(normaliseNewlines(text), { text: 'a\nb\nc\n\n\nd', newlines: { mode: 'lf', crlf: 2, cr: 2 } });
    assert.deepEqual(normaliseNewlines(text, 'raw'), { text, newlines: { mode: 'raw', crlf: 2, cr: 2 } });
    assert.deepEqual(normaliseNewlines('plain\ntext'), { text: 'plain\ntext', newlines: { mode: 'lf', crlf: 0, cr: 0 } });
  });

  it('reads a CRLF file exactly like its LF copy; the error names a file it cannot read', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-text-'));
    const lf = 'One day, Tom went out.\n\nHe saw a dog.\n';
    fs.writeFileSync(path.join(dir, 'crlf.txt'), lf.replace(/\n/g, '\r\n'));
    fs.writeFileSync(path.join(dir, 'lf.txt'), lf);
    assert.equal(readText(path.join(dir, 'crlf.txt')).text, readText(path.join(dir, 'lf.txt')).text);
    assert.equal(readText(path.join(dir, 'crlf.txt'), 'raw').text, lf.replace(/\n/g, '\r\n'));
    assert.throws(
      () => readText(path.join(dir, 'missing.txt')),
      new RegExp(`${path.join(dir, 'missing.txt').replace(/[.\\/]/g, '\\$&')}: cannot read the text file`),
    );
  });

  it('says what it did only when the text had carriage returns', () => {
    assert.equal(newlineNote({ mode: 'lf', crlf: 0, cr: 0 }, 'x.txt'), undefined);
    assert.match(newlineNote({ mode: 'lf', crlf: 18, cr: 0 }, 'x.txt') ?? '', /^x\.txt: read 18 CRLF line ending\(s\) as LF \(newlines raw keeps/);
    assert.match(newlineNote({ mode: 'raw', crlf: 1, cr: 2 }, 'x.txt') ?? '', /kept 1 CRLF and 2 lone CR line ending\(s\) as raw bytes/);
  });
});
