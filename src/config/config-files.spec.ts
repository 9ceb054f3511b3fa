import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { MAX_CONFIG_FILE_BYTES, readJwksFile, readYamlFile } from './config-files.js';

const dir = mkdtempSync(join(tmpdir(), 'actbridge-config-files-'));

describe('configuration files', () => {
  it('refuses a file larger than MAX_CONFIG_FILE_BYTES before reading it', () => {
    const huge = join(dir, 'huge.yaml');
    writeFileSync(huge, '');
    truncateSync(huge, MAX_CONFIG_FILE_BYTES + 1); // sparse: nothing is written
    expect(() => readYamlFile(huge)).toThrow(`${huge}: is larger than ${MAX_CONFIG_FILE_BYTES} bytes`);
  });

  it('refuses a device (read without end) before reading it; a directory fails the read at once', () => {
    expect(() => readYamlFile('/dev/zero')).toThrow('/dev/zero: is not a regular file');
    expect(() => readJwksFile(dir, join(dir, 'anchor.yaml'), 'jwks_file')).toThrow(
      `${join(dir, 'anchor.yaml')}: jwks_file: ${dir}: cannot be read (EISDIR)`,
    );
  });

  it('still names a missing file as unreadable', () => {
    expect(() => readYamlFile(join(dir, 'missing.yaml'))).toThrow(
      `${join(dir, 'missing.yaml')}: cannot be read (ENOENT)`,
    );
  });
});
