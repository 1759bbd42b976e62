import { CustomResource, Stack } from 'aws-cdk-lib';
import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { nodeFunction, repoPath } from './node-function.js';

export interface ConsoleKeyPairProps {
  privateKeyParameterName: string;
  publicKeyParameterName: string;
}

/**
 * The console token key pair, made at deploy time (CloudFormation makes neither key pairs nor
 * SecureString parameters): the private key in an SSM SecureString only the API reads, the
 * public key in a plain parameter for the hosts. The keys never appear in the template.
 */
export class ConsoleKeyPair extends Construct {
  readonly resource: CustomResource;
  private readonly privateKeyArn: string;

  constructor(scope: Construct, id: string, props: ConsoleKeyPairProps) {
    super(scope, id);
    const arnOf = (name: string) => Stack.of(this).formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, '') });
    this.privateKeyArn = arnOf(props.privateKeyParameterName);
    const creator = nodeFunction(this, 'Creator', {
      entry: repoPath('infra/custom-resources/console-key-pair.ts'),
      description: 'Creates the novaless console token key pair at deploy time',
      settings: { memoryMb: 256, timeoutSeconds: 30 },
      environment: { POWERTOOLS_SERVICE_NAME: 'novaless-deploy' },
    });
    creator.addToRolePolicy(new PolicyStatement({ actions: ['ssm:PutParameter'], resources: [this.privateKeyArn, arnOf(props.publicKeyParameterName)] }));
    creator.addToRolePolicy(new PolicyStatement({ actions: ['ssm:GetParameter'], resources: [this.privateKeyArn] }));
    const provider = new Provider(this, 'Provider', { onEventHandler: creator });
    this.resource = new CustomResource(this, 'KeyPair', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::NovalessConsoleKeyPair',
      properties: { PrivateKeyParameterName: props.privateKeyParameterName, PublicKeyParameterName: props.publicKeyParameterName },
    });
  }

  /** Lets `grantee` read (and, with the AWS-managed aws/ssm key, decrypt) the signing key. */
  grantSign(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions: ['ssm:GetParameter'], resources: [this.privateKeyArn] }));
  }
}
