import { EndpointType, LambdaRestApi } from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { PREFIX } from '../../shared/resources.js';

export const apiStageName = 'prod';

/**
 * The public endpoint: an API Gateway REST API (v1, which LocalStack's free edition emulates)
 * proxying every path and method to the api function, which routes by itself.
 */
export class PublicApi extends Construct {
  readonly api: LambdaRestApi;

  constructor(scope: Construct, id: string, props: { handler: IFunction }) {
    super(scope, id);
    this.api = new LambdaRestApi(this, 'Api', {
      restApiName: `${PREFIX}-api`,
      description: 'Identity v3, Compute v2.1, Image v2 and Network v2.0 endpoints of novaless',
      handler: props.handler,
      proxy: true,
      endpointTypes: [EndpointType.REGIONAL],
      // Every body reaches the function base64-encoded, so image uploads arrive byte for byte.
      binaryMediaTypes: ['*/*'],
      cloudWatchRole: false,
      deployOptions: { stageName: apiStageName },
    });
  }

  /** The stage URL, ending with a slash. */
  get url(): string {
    return this.api.url;
  }
}
