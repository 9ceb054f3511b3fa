import { describe, expect, it } from '@jest/globals';
import { formPairs } from './request-params.js';

/** formPairs must give exactly what URLSearchParams gives, on any body. */
describe('formPairs, against URLSearchParams', () => {
  const standard = (body: string) => [...new URLSearchParams(body)];

  it.each([
    ['an empty body', ''],
    [
      'a token-exchange request',
      'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=eyJh.eyJz.c2ln&scope=read+write',
    ],
    ['empty sequences and names', '&&a=1&&=2&b&=&c='],
    ['= inside a value', 'a=b=c&d==e'],
    ['+ as space, %2B as plus', 'a=x+y%2Bz&b=+%20+'],
    ['a stray %', 'a=100%&b=%zz&c=%4&d=%%41'],
    ['multi-byte UTF-8 percent-encoded', 'a=%C3%A9%E2%82%AC%F0%9F%98%80'],
    ['invalid UTF-8 percent-encoded', 'a=%C3&b=%FF%FE&c=%ED%A0%80&d=%C3%28'],
    ['a BOM', 'a=%EF%BB%BFx&%EF%BB%BFb=1'],
    ['raw non-ASCII', 'a=é€😀&ü=1'],
    ['encoded & and =', 'a=%26b%3Dc&%3D=%26'],
    ['repeated names', 'audience=a&audience=b&resource=https%3A%2F%2Fx'],
  ])('%s', (_name, body) => {
    expect(formPairs(body)).toEqual(standard(body));
  });

  it('agrees on 5,000 random bodies over an alphabet of the troublesome characters', () => {
    const alphabet = [
      '%',
      '+',
      '=',
      '&',
      'a',
      'F',
      '0',
      '9',
      'C3',
      'A9',
      'E2',
      '82',
      'ED',
      ' ',
      'é',
      '😀',
      '%2',
      '%C3%A9',
      '%FF',
    ];
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 5000; i++) {
      let body = '';
      for (let j = random(24); j > 0; j--) body += alphabet[random(alphabet.length)];
      expect([body, formPairs(body)]).toEqual([body, standard(body)]);
    }
  });
});
