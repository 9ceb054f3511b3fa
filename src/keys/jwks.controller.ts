import { Controller, Get, Header } from '@nestjs/common';
import { JWKS_PATH } from '../oauth/endpoint-paths.js';
import { KeyService } from './key-service.js';

@Controller()
export class JwksController {
  constructor(private readonly keys: KeyService) {}

  @Get(JWKS_PATH)
  @Header('content-type', 'application/jwk-set+json')
  // Short enough that a newly published next key is seen well before it becomes active.
  @Header('cache-control', 'public, max-age=300')
  jwks(): unknown {
    return this.keys.jwks;
  }
}
