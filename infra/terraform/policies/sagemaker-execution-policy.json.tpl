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
      "Sid": "ArtifactBucketList",
      "Effect": "Allow",
      "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
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
      "Sid": "PullTrainerImages",
      "Effect": "Allow",
      "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
      "Resource": ${image_repository_arns}
    },
    {
      "Sid": "EcrLoginHasNoResource",
      "Effect": "Allow",
      "Action": ["ecr:GetAuthorizationToken"],
      "Resource": ["*"]
    },
    {
      "Sid": "JobLogs",
      "Effect": "Allow",
      "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
      "Resource": ["arn:${partition}:logs:${region}:${account_id}:log-group:/aws/sagemaker/*"]
    },
    {
      "Sid": "JobMetrics",
      "Effect": "Allow",
      "Action": ["cloudwatch:PutMetricData"],
      "Resource": ["*"],
      "Condition": {
        "StringLike": { "cloudwatch:namespace": "/aws/sagemaker/*" }
      }
    }
  ]
}
