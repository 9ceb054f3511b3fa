import { Module } from '@nestjs/common';
import { TokenEndpointModule } from '../token-endpoint/token-endpoint.module.js';
import { MetadataRoutes } from './metadata.routes.js';

@Module({ imports: [TokenEndpointModule], providers: [MetadataRoutes], exports: [MetadataRoutes] })
export class MetadataModule {}
