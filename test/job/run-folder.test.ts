/**
 * Run folders (job/run-folder.ts) report their own write failures: a RunFolderError that names the file and the
 * runs folder, never an export error (run folders are not exports, and the extension that marks crashed runs
 * must not load the export code).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExportError } from '../../engine/export/atomic';
import { markRunFailed, RunFolder, RunFolderError } from '../../job/run-folder';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-run-folder-'));
}

describe('run folder write failures', () => {
  it('a status that cannot be written is a RunFolderError naming the file and the runs folder', () => {
    const dir = tmp();
    // A non-empty folder where status.json belongs: renaming the temp file over it fails, even as root.
    fs.mkdirSync(path.join(dir, 'status.json'));
    fs.writeFileSync(path.join(dir, 'status.json', 'x'), '');
    const status = path.join(dir, 'status.json');
    assert.throws(
      () => markRunFailed(dir, { section: 's', kind: 'tune', message: 'worker crashed' }),
      (e: unknown) => {
        assert.ok(e instanceof RunFolderError, `expected a RunFolderError, got ${String(e)}`);
        assert.ok(!(e instanceof ExportError));
        assert.equal(e.file, status);
        assert.ok(e.message.startsWith(`${status}: cannot write this run-folder file (`), e.message);
        assert.match(e.message, /runs folder/);
        return true;
      },
    );
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.includes('.tmp-')),
      [],
      'the temporary file is removed',
    );
  });

  it('a run folder that cannot be created is a RunFolderError naming the folder', () => {
    const file = path.join(tmp(), 'not-a-folder');
    fs.writeFileSync(file, '');
    assert.throws(
      () => new RunFolder(file, 'honest', 'tune', undefined, {}),
      (e: unknown) => {
        assert.ok(e instanceof RunFolderError, `expected a RunFolderError, got ${String(e)}`);
        assert.ok(e.file.startsWith(`${file}${path.sep}`), e.file);
        assert.match(e.message, /: cannot create the run folder \(.*\)\. Check free disk space/);
        return true;
      },
    );
  });

  it('a run folder that can be written is complete (control: the failures above come from the setup)', () => {
    const out = tmp();
    const f = new RunFolder(out, 'honest', 'tune', undefined, { a: 1 });
    f.event({ type: 'log', level: 'info', message: 'hi' });
    f.finish('done', 'ok');
    assert.deepEqual(fs.readdirSync(f.dir).sort(), ['config.json', 'events.jsonl', 'status.json', 'summary.json']);
    assert.equal(markRunFailed(f.dir, { section: 'honest', kind: 'tune', message: 'late' }), false);
  });
});
