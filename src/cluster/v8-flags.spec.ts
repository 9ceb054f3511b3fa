import { describe, expect, it } from '@jest/globals';
import { V8_FLAGS, v8FlagsToSet } from './v8-flags.js';

describe('v8FlagsToSet', () => {
  it('sets every flag the command line leaves alone', () => {
    expect(v8FlagsToSet([])).toEqual(['--no-allocation-site-pretenuring']);
    expect(v8FlagsToSet(['--enable-source-maps', '--max-old-space-size=512'])).toEqual([...V8_FLAGS]);
  });

  it('leaves a flag the operator gave, either way and in either spelling, to the operator', () => {
    for (const given of [
      '--allocation-site-pretenuring',
      '--no-allocation-site-pretenuring',
      '--allocation_site_pretenuring',
      '--no_allocation_site_pretenuring',
    ])
      expect(v8FlagsToSet([given])).toEqual([]);
  });

  it('does not read values or other flags as the same name', () => {
    expect(v8FlagsToSet(['--import=allocation-site-pretenuring', 'allocation-site-pretenuring'])).toEqual([
      ...V8_FLAGS,
    ]);
  });
});
