import { Duration, Lazy, Stack } from 'aws-cdk-lib';
import type { IRestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  AllowedMethods,
  CachePolicy,
  CfnDistribution,
  Distribution,
  Function as EdgeFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  type IKeyValueStore,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  S3OriginAccessControl,
  Signing,
  ViewerProtocolPolicy,
  type BehaviorOptions,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { edge, imageUploadPrefix } from '../../shared/resources.js';
import { repoPath } from './node-function.js';

export interface PublicFrontProps {
  /** The API behind the front: every request but image data uploads goes there. */
  restApi: IRestApi;
  stageName: string;
  /** Where image data uploads land (under `imageUploadPrefix`). */
  imageBucket: IBucket;
  /** Holds the token signing key the image upload router checks tokens with. */
  keyValueStore: IKeyValueStore;
}

/**
 * The cloud's public endpoint: a CloudFront distribution in front of the API. API Gateway refuses
 * request bodies over 10 MB (and Lambda over 6 MB), so `PUT /image/v2/images/{id}/file` goes
 * through a behavior whose viewer-request function (infra/edge/image-upload-router.js) checks
 * the token and sends the data to the image bucket instead, under `image-uploads/`.
 */
export class PublicFront extends Construct {
  readonly distribution: Distribution;

  constructor(scope: Construct, id: string, props: PublicFrontProps) {
    super(scope, id);
    const stack = Stack.of(this);

    // Built from the RestApi's id, not from its URL: the URL names the stage, whose deployment
    // depends on the methods, which depend on the api function, whose PUBLIC_ENDPOINT is this
    // distribution's domain: a cycle.
    const apiOrigin = new HttpOrigin(`${props.restApi.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}`, {
      originId: edge.apiOriginId,
      originPath: `/${props.stageName}`,
      protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
    });
    const toApi: BehaviorOptions = {
      origin: apiOrigin,
      allowedMethods: AllowedMethods.ALLOW_ALL,
      cachePolicy: CachePolicy.CACHING_DISABLED,
      // API Gateway must see its own host name; everything else (X-Auth-Token, the
      // microversion headers, query strings) passes through.
      originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      // API clients PUT and POST: a redirect would lose the body.
      viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
    };

    const router = new EdgeFunction(this, 'ImageUploadRouter', {
      comment: 'novaless: sends image data uploads with a valid token to the image bucket',
      runtime: FunctionRuntime.JS_2_0,
      code: FunctionCode.fromFile({ filePath: repoPath(edge.functionFile) }),
      keyValueStore: props.keyValueStore,
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'novaless public endpoint',
      defaultBehavior: toApi,
      additionalBehaviors: {
        [edge.imageDataPathPattern]: {
          ...toApi,
          functionAssociations: [{ function: router, eventType: FunctionEventType.VIEWER_REQUEST }],
        },
      },
      // CloudFront may cache error answers to GET for the error caching minimum TTL (10 s by
      // default), for most codes even with `Cache-Control: no-store`, under a cache key that
      // (caching disabled) leaves out the token: one user's 404 could reach another. These are
      // the codes it caches; none is kept.
      errorResponses: [400, 403, 404, 405, 414, 500, 501, 502, 503, 504].map((httpStatus) => ({
        httpStatus,
        ttl: Duration.seconds(0),
      })),
    });

    this.addStorageOrigin(props.imageBucket);
  }

  /** `https://<distribution domain>`, without a trailing slash. */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }

  /**
   * The image bucket as an origin that only the upload router selects
   * (`cf.selectRequestOriginById(edge.storageOriginId)`), with origin access control signing
   * every request, and a bucket policy letting this distribution put objects under
   * `image-uploads/` and do nothing else.
   *
   * `Distribution` only renders origins that some behavior targets, and no behavior may target
   * the bucket: a viewer path reaching it without the router would skip the token check. So the
   * origin is appended to the L1 distribution's origin list (the list the L2 built, whatever is
   * in it, plus this one). `S3BucketOrigin.withOriginAccessControl` is not used: besides needing
   * a behavior, it grants on every object of the bucket (`<bucket>/*`), not just the prefix.
   */
  private addStorageOrigin(bucket: IBucket): void {
    const access = new S3OriginAccessControl(this, 'StorageAccess', {
      description: 'novaless: image data uploads from the public front',
      signing: Signing.SIGV4_ALWAYS,
    });
    const storageOrigin: CfnDistribution.OriginProperty = {
      id: edge.storageOriginId,
      domainName: bucket.bucketRegionalDomainName,
      originAccessControlId: access.originAccessControlId,
      // With origin access control, the (legacy) origin access identity must be empty.
      s3OriginConfig: { originAccessIdentity: '' },
    };
    const cfn = this.distribution.node.defaultChild as CfnDistribution;
    const config = cfn.distributionConfig as CfnDistribution.DistributionConfigProperty;
    const builtOrigins = config.origins;
    cfn.distributionConfig = {
      ...config,
      origins: Lazy.uncachedAny({
        produce: (context) => [...(context.resolve(builtOrigins) as CfnDistribution.OriginProperty[]), storageOrigin],
      }),
    };

    const { statementAdded } = bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'PublicFrontPutsImageUploads',
        principals: [new ServicePrincipal('cloudfront.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects(`${imageUploadPrefix}*`)],
        conditions: { StringEquals: { 'AWS:SourceArn': this.distribution.distributionArn } },
      }),
    );
    // An imported bucket silently keeps its policy, and every upload would be refused.
    if (!statementAdded) throw new Error('the image bucket must be defined in this stack: its policy must let the front put uploads');
  }
}
