import { describe } from '@jest/globals';
import { errorDescription, quoted } from './error-description.js';
import { itMaps } from '../../test/support/maps.js';

describe('errorDescription', () => {
  itMaps(errorDescription, [
    ['subject_token has expired', 'subject_token has expired'],
    // The whole set passes: space, ! and # to ~ but for `"` and `\`.
    [" !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~", " !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~"],
    ['Count="0"', "Count='0'"],
    ['a\\b', 'a?b'],
    ['tab\tline\nreturn\rnul\u0000del\u007f', 'tab?line?return?nul?del?'],
    ['\u0080 é €', '? ? ?'],
    // One `?` per code point: a character outside the BMP is one, not its two UTF-16 halves.
    ['😀', '?'],
    ['lone \ud800 surrogate', 'lone ? surrogate'],
    ['', ''],
  ]);
});

describe('quoted', () => {
  itMaps(quoted, [
    ['JWT', "'JWT'"],
    ['a"b\\c\u0001é', "'a'b?c??'"],
    [5, '5'],
    [null, 'null'],
    [undefined, 'undefined'],
    [{ a: 'b"' }, "{'a':'b?''}"],
    // A value as long as a request allows is cut: a description names it, it does not repeat it.
    ['K'.repeat(200), `'${'K'.repeat(200)}'`],
    ['K'.repeat(20000), `'${'K'.repeat(200)}...'`],
    ['😀'.repeat(201), `'${'?'.repeat(200)}...'`],
    [['x'.repeat(300)], `['${'x'.repeat(198)}...`],
  ]);
});
