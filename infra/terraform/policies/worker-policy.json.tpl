{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ArtifactObjects",
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject"],
      "Resource": ["${bucket_arn}/*"]
    },
    {
      "Sid": "ArtifactBucketListForNotFound",
      "Effect": "Allow",
      "Action": ["s3:ListBucket"],
      "Resource": ["${bucket_arn}"]
    },
    {
      "Sid": "ArtifactKeyThroughS3",
      "Effect": "Allow",
      "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
      "Resource": ["${kms_key_arn}"],
      "Condition": {
        "StringEquals": { "kms:ViaService": "s3.${region}.amazonaws.com" }
      }
    },
    {
      "Sid": "SageMakerTrainingJobs",
      "Effect": "Allow",
      "Action": ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
      "Resource": ["arn:${partition}:sagemaker:${region}:${account_id}:training-job/${sagemaker_name_prefix}*"]
    },
    {
      "Sid": "SageMakerTransformJobs",
      "Effect": "Allow",
      "Action": ["sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob"],
      "Resource": ["arn:${partition}:sagemaker:${region}:${account_id}:transform-job/${sagemaker_name_prefix}*"]
    },
    {
      "Sid": "SageMakerModels",
      "Effect": "Allow",
      "Action": ["sagemaker:CreateModel", "sagemaker:DescribeModel"],
      "Resource": ["arn:${partition}:sagemaker:${region}:${account_id}:model/${sagemaker_name_prefix}*"]
    },
    {
      "Sid": "SageMakerEndpointConfigs",
      "Effect": "Allow",
      "Action": ["sagemaker:CreateEndpointConfig", "sagemaker:DescribeEndpointConfig"],
      "Resource": ["arn:${partition}:sagemaker:${region}:${account_id}:endpoint-config/${sagemaker_name_prefix}*"]
    },
    {
      "Sid": "SageMakerEndpointTraffic",
      "Effect": "Allow",
      "Action": ["sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"],
      "Resource": ["arn:${partition}:sagemaker:${region}:${account_id}:endpoint/${sagemaker_name_prefix}*"]
    },
    {
      "Sid": "SageMakerEndpointSwitchConfig",
      "Effect": "Allow",
      "Action": ["sagemaker:UpdateEndpoint"],
      "Resource": [
        "arn:${partition}:sagemaker:${region}:${account_id}:endpoint/${sagemaker_name_prefix}*",
        "arn:${partition}:sagemaker:${region}:${account_id}:endpoint-config/${sagemaker_name_prefix}*"
      ]
    },
    {
      "Sid": "SageMakerTagsOnCreate",
      "Effect": "Allow",
      "Action": ["sagemaker:AddTags"],
      "Resource": [
        "arn:${partition}:sagemaker:${region}:${account_id}:training-job/${sagemaker_name_prefix}*",
        "arn:${partition}:sagemaker:${region}:${account_id}:transform-job/${sagemaker_name_prefix}*",
        "arn:${partition}:sagemaker:${region}:${account_id}:model/${sagemaker_name_prefix}*",
        "arn:${partition}:sagemaker:${region}:${account_id}:endpoint-config/${sagemaker_name_prefix}*"
      ],
      "Condition": {
        "ForAllValues:StringLike": { "aws:TagKeys": ["driftline:*"] }
      }
    },
    {
      "Sid": "PassExecutionRoleToSageMaker",
      "Effect": "Allow",
      "Action": ["iam:PassRole"],
      "Resource": ["${sagemaker_execution_role_arn}"],
      "Condition": {
        "StringEquals": { "iam:PassedToService": "sagemaker.amazonaws.com" }
      }
    },
    {
      "Sid": "CanaryMetricsReadOnly",
      "Effect": "Allow",
      "Action": ["cloudwatch:GetMetricData"],
      "Resource": ["*"]
    }
  ]
}
