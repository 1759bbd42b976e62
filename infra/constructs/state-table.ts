import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { tableDefinition } from '../../shared/resources.js';

/** The single table that replaces Nova's databases (layout: shared/store/keys.ts). */
export class StateTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const t = tableDefinition;
    this.table = new Table(this, 'Table', {
      tableName: t.name,
      partitionKey: { name: t.partitionKey, type: AttributeType.STRING },
      sortKey: { name: t.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: t.ttlAttribute,
      // The cloud's state outlives the stack: a `cdk destroy` must not delete instances' records.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of t.globalIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.ALL,
      });
    }
  }
}
