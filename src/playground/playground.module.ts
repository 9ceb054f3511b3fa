import { Module } from '@nestjs/common';
import { OAuthErrorsModule } from '../oauth-errors/oauth-errors.module.js';
import { PlaygroundExplain } from './playground-explain.js';
import { PlaygroundRoutes } from './playground-routes.js';

/** `/playground`, imported by AppModule only when PLAYGROUND is on (playground-settings.ts). */
@Module({
  imports: [OAuthErrorsModule],
  providers: [PlaygroundRoutes, PlaygroundExplain],
})
export class PlaygroundModule {}
