# SageMaker runs training and batch-transform jobs as this role: it reads datasets and writes
# models and predictions in the artifacts bucket, pulls the trainer image, and logs.
resource "aws_iam_role" "sagemaker_execution" {
  name = "${var.name_prefix}-sagemaker-execution"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "sagemaker.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "sagemaker_execution" {
  name = "${var.name_prefix}-sagemaker-execution"
  role = aws_iam_role.sagemaker_execution.id
  policy = templatefile("${path.module}/policies/sagemaker-execution-policy.json.tpl", {
    partition   = local.partition
    region      = var.region
    account_id  = local.account_id
    bucket_arn  = aws_s3_bucket.artifacts.arn
    kms_key_arn = aws_kms_key.artifacts.arn
    image_repository_arns = jsonencode(
      length(var.sagemaker_image_repository_arns) > 0 ? var.sagemaker_image_repository_arns : ["arn:${local.partition}:ecr:${var.region}:${local.account_id}:repository/${var.name_prefix}-*"]
    )
  })
}

# Exactly the AWS calls the workers make (test/infra.test.ts derives the list from the code).
resource "aws_iam_policy" "worker" {
  name        = "${var.name_prefix}-worker"
  description = "Driftline workers: artifacts bucket, SageMaker jobs and endpoints, CloudWatch metrics for canary analysis."
  policy      = templatefile("${path.module}/policies/worker-policy.json.tpl", local.policy_vars)
}

# The workers' role, for EKS Pod Identity. (For IRSA, give it a web-identity trust instead.)
resource "aws_iam_role" "worker" {
  name = "${var.name_prefix}-worker"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "pods.eks.amazonaws.com" }
      Action    = ["sts:AssumeRole", "sts:TagSession"]
    }]
  })
}

resource "aws_iam_role_policy_attachment" "worker" {
  role       = aws_iam_role.worker.name
  policy_arn = aws_iam_policy.worker.arn
}

resource "aws_eks_pod_identity_association" "worker" {
  count           = var.eks_cluster_name == "" ? 0 : 1
  cluster_name    = var.eks_cluster_name
  namespace       = var.kubernetes_namespace
  service_account = var.kubernetes_service_account
  role_arn        = aws_iam_role.worker.arn
}
