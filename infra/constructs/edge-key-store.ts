import { CustomResource, Stack } from 'aws-cdk-lib';
import { KeyValueStore } from 'aws-cdk-lib/aws-cloudfront';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { edge } from '../../shared/resources.js';
import { nodeFunction, repoPath } from './node-function.js';

export interface EdgeKeyStoreProps {
  /** The SSM SecureString holding the token signing key (base64), as the API reads it. */
  tokenKeyParameterName: string;
  /** The custom resource that creates that parameter: the copy waits for it. */
  tokenKeyParameterCreator: Construct;
}

/**
 * The public front's CloudFront KeyValueStore, holding the token signing key under
 * `edge.tokenKeyName` for the image upload router. CloudFormation cannot put a value it does
 * not know into a store, and the key must stay out of the template, so a custom resource copies
 * it from SSM at deploy time.
 */
export class EdgeKeyStore extends Construct {
  readonly store: KeyValueStore;
  /** Done once the token key is in the store. */
  readonly tokenKey: CustomResource;

  constructor(scope: Construct, id: string, props: EdgeKeyStoreProps) {
    super(scope, id);
    this.store = new KeyValueStore(this, 'Store', { comment: 'novaless public front: token signing key' });

    const copier = nodeFunction(this, 'Copier', {
      entry: repoPath('infra/custom-resources/key-value-store-parameter.ts'),
      description: 'Copies the novaless token signing key from SSM into the CloudFront KeyValueStore',
      settings: { memoryMb: 256, timeoutSeconds: 60 },
      environment: { POWERTOOLS_SERVICE_NAME: 'novaless-deploy' },
    });
    const parameterArn = Stack.of(this).formatArn({
      service: 'ssm',
      resource: 'parameter',
      resourceName: props.tokenKeyParameterName.replace(/^\//, ''),
    });
    // The parameter is encrypted with the AWS-managed aws/ssm key, whose key policy lets the
    // account's principals decrypt through SSM: no KMS grant needed (as for the API).
    copier.addToRolePolicy(new PolicyStatement({ actions: ['ssm:GetParameter'], resources: [parameterArn] }));
    copier.addToRolePolicy(
      new PolicyStatement({
        actions: ['cloudfront-keyvaluestore:DescribeKeyValueStore', 'cloudfront-keyvaluestore:PutKey'],
        resources: [this.store.keyValueStoreArn],
      }),
    );

    const provider = new Provider(this, 'Provider', { onEventHandler: copier });
    this.tokenKey = new CustomResource(this, 'TokenKey', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::NovalessKeyValueStoreParameter',
      properties: {
        ParameterName: props.tokenKeyParameterName,
        KeyValueStoreArn: this.store.keyValueStoreArn,
        Key: edge.tokenKeyName,
      },
    });
    this.tokenKey.node.addDependency(props.tokenKeyParameterCreator);
  }
}
