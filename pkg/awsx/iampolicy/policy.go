// Package iampolicy is the one list of the AWS permissions the product needs: each IAM action,
// the resource it must be allowed on, the optional part of the deployment that needs it, and the
// SDK operations of this code that call it. docs/aws.md's policy is generated from it, and a test
// that records every AWS call the code makes against the local servers and fakes fails when a
// call is missing here.
package iampolicy

import (
	"encoding/json"
	"slices"
	"strings"
)

// Part is an optional part of a deployment: a policy holds the parts a deployment uses.
type Part string

const (
	// Core is the archive in S3 (SSE-KMS) and the state in DynamoDB.
	Core Part = "core"
	// IAMLogins is auth iam / iam-identity on clusters.
	IAMLogins Part = "iam-logins"
	// SSM is the cluster list in Parameter Store (and the 2018 Glue connections).
	SSM Part = "ssm"
	// Athena is query.engine athena with the Glue catalog.
	Athena Part = "athena"
)

// Parts in the order the documentation shows them.
var Parts = []Part{Core, IAMLogins, SSM, Athena}

// Permission is one IAM action on one resource pattern.
type Permission struct {
	Part   Part
	Action string
	// Resource is an ARN with the placeholders of Placeholders.
	Resource string
	// Operations are the SDK operations ("<service id>.<operation>") of this code that need the
	// action. Empty for a permission used by AWS on the caller's behalf (Athena writing its
	// results, KMS behind S3) or by a login (JoinGroup, CreateClusterUser).
	Operations []string
	// Why says when it is needed, for the documentation.
	Why string
}

// Placeholders of the resources, with the example values the documentation fills in.
var Placeholders = map[string]string{
	"${Region}":        "us-east-1",
	"${Account}":       "123456789012",
	"${ArchiveBucket}": "my-stl-archive",
	"${ArchivePrefix}": "stl/",
	"${ArchiveKey}":    "key/1234abcd-12ab-34cd-56ef-1234567890ab",
	"${StateTable}":    "stlarchive_state",
	"${Cluster}":       "prod-west",
	"${ClusterRegion}": "us-west-2",
	"${DBUser}":        "stl_reader",
	"${DBName}":        "dev",
	"${DBGroup}":       "stl_readers",
	"${SSMPrefix}":     "redshift_query_logs",
	"${SSMKey}":        "key/5678efgh-56ef-78gh-90ij-5678901234kl",
	"${Workgroup}":     "primary",
	"${ResultsBucket}": "my-athena-results",
	"${ResultsPrefix}": "stl-archive/",
	"${GlueDatabase}":  "stl_archive",
}

const (
	archiveObjects = "arn:aws:s3:::${ArchiveBucket}/${ArchivePrefix}*"
	archiveBucket  = "arn:aws:s3:::${ArchiveBucket}"
	archiveKey     = "arn:aws:kms:${Region}:${Account}:${ArchiveKey}"
	stateTable     = "arn:aws:dynamodb:${Region}:${Account}:table/${StateTable}"
	dbUser         = "arn:aws:redshift:${ClusterRegion}:${Account}:dbuser:${Cluster}/${DBUser}"
	dbName         = "arn:aws:redshift:${ClusterRegion}:${Account}:dbname:${Cluster}/${DBName}"
	dbGroup        = "arn:aws:redshift:${ClusterRegion}:${Account}:dbgroup:${Cluster}/${DBGroup}"
	workgroup      = "arn:aws:athena:${Region}:${Account}:workgroup/${Workgroup}"
	resultsBucket  = "arn:aws:s3:::${ResultsBucket}"
	resultsObjects = "arn:aws:s3:::${ResultsBucket}/${ResultsPrefix}*"
	glueCatalog    = "arn:aws:glue:${Region}:${Account}:catalog"
	glueDatabase   = "arn:aws:glue:${Region}:${Account}:database/${GlueDatabase}"
	glueTables     = "arn:aws:glue:${Region}:${Account}:table/${GlueDatabase}/*"
)

// All are the permissions, by part.
var All = []Permission{
	{Core, "s3:PutObject", archiveObjects, []string{"S3.PutObject", "S3.CreateMultipartUpload", "S3.UploadPart", "S3.CompleteMultipartUpload"},
		"write archive objects (single or multipart uploads)"},
	{Core, "s3:AbortMultipartUpload", archiveObjects, []string{"S3.AbortMultipartUpload"}, "abort a failed upload and the health check's test upload"},
	{Core, "s3:DeleteObject", archiveObjects, []string{"S3.DeleteObject"}, "compaction and retention delete the objects they replaced or retired, after their grace"},
	{Core, "s3:GetObject", archiveObjects, []string{"S3.GetObject"}, "the embedded engine's cache of the archive; Athena reads with it too"},
	{Core, "s3:ListBucket", archiveBucket, []string{"S3.ListObjectsV2", "S3.HeadBucket"}, "list partitions; find the bucket's region"},
	{Core, "kms:GenerateDataKey", archiveKey, nil, "SSE-KMS writes (S3 calls KMS with the caller's rights; a Bucket Key makes it rare)"},
	{Core, "kms:Decrypt", archiveKey, nil, "SSE-KMS reads and multipart uploads"},
	{Core, "dynamodb:DescribeTable", stateTable, []string{"DynamoDB.DescribeTable"}, "open the state table"},
	{Core, "dynamodb:CreateTable", stateTable, []string{"DynamoDB.CreateTable"}, "only with state.dynamodb.create"},
	{Core, "dynamodb:GetItem", stateTable, []string{"DynamoDB.GetItem"}, "read progress and leases"},
	{Core, "dynamodb:PutItem", stateTable, []string{"DynamoDB.PutItem"}, "conditional progress writes and leases"},
	{Core, "dynamodb:Query", stateTable, []string{"DynamoDB.Query"}, "read the day records of a cluster's committed windows (verification, compaction's gate)"},
	{Core, "dynamodb:DeleteItem", stateTable, []string{"DynamoDB.DeleteItem"}, "release a lease"},
	{Core, "dynamodb:Scan", stateTable, []string{"DynamoDB.Scan"}, "export status"},

	{IAMLogins, "redshift:GetClusterCredentials", dbUser, []string{"Redshift.GetClusterCredentials"}, "auth iam: the database user"},
	{IAMLogins, "redshift:GetClusterCredentials", dbName, nil, "auth iam: the database (when the policy restricts databases)"},
	{IAMLogins, "redshift:JoinGroup", dbGroup, nil, "auth iam with dbGroups: each group joined"},
	{IAMLogins, "redshift:CreateClusterUser", dbUser, nil, "auth iam with autoCreate"},
	{IAMLogins, "redshift:GetClusterCredentialsWithIAM", dbName, []string{"Redshift.GetClusterCredentialsWithIAM"}, "auth iam-identity"},

	{SSM, "ssm:GetParameters", "arn:aws:ssm:${Region}:${Account}:parameter/${SSMPrefix}.*", []string{"SSM.GetParameters"}, "the 2018 parameters"},
	{SSM, "kms:Decrypt", "arn:aws:kms:${Region}:${Account}:${SSMKey}", nil,
		"SecureString passwords under a customer-managed key (the AWS-managed aws/ssm key needs no grant)"},
	{SSM, "redshift:DescribeClusters", "*", []string{"Redshift.DescribeClusters"}, "endpoints of clusters without an endpoint parameter"},
	{SSM, "glue:GetConnection", glueCatalog, []string{"Glue.GetConnection"}, "the 2018 Glue connections' endpoints"},
	{SSM, "glue:GetConnection", "arn:aws:glue:${Region}:${Account}:connection/*", nil, ""},

	{Athena, "athena:StartQueryExecution", workgroup, []string{"Athena.StartQueryExecution"}, "run a query"},
	{Athena, "athena:GetQueryExecution", workgroup, []string{"Athena.GetQueryExecution"}, "poll it"},
	{Athena, "athena:GetQueryResults", workgroup, []string{"Athena.GetQueryResults"}, "read its results"},
	{Athena, "athena:StopQueryExecution", workgroup, []string{"Athena.StopQueryExecution"}, "cancel it"},
	{Athena, "athena:GetWorkGroup", workgroup, []string{"Athena.GetWorkGroup"}, "the health check"},
	{Athena, "s3:GetBucketLocation", resultsBucket, nil, "Athena's results, written with the caller's rights"},
	{Athena, "s3:ListBucket", resultsBucket, nil, ""},
	{Athena, "s3:ListBucketMultipartUploads", resultsBucket, nil, ""},
	{Athena, "s3:GetObject", resultsObjects, nil, ""},
	{Athena, "s3:PutObject", resultsObjects, nil, ""},
	{Athena, "s3:AbortMultipartUpload", resultsObjects, nil, ""},
	{Athena, "s3:ListMultipartUploadParts", resultsObjects, nil, ""},
	{Athena, "s3:GetBucketLocation", archiveBucket, nil, "Athena reading the archive (plus core's s3:GetObject, s3:ListBucket, kms:Decrypt)"},
	{Athena, "glue:GetDatabase", glueCatalog, []string{"Glue.GetDatabase"}, "the catalog Athena reads the archive through"},
	{Athena, "glue:CreateDatabase", glueCatalog, []string{"Glue.CreateDatabase"}, ""},
	{Athena, "glue:GetTable", glueCatalog, []string{"Glue.GetTable"}, ""},
	{Athena, "glue:CreateTable", glueCatalog, []string{"Glue.CreateTable"}, ""},
	{Athena, "glue:UpdateTable", glueCatalog, []string{"Glue.UpdateTable"}, ""},
	{Athena, "glue:GetDatabase", glueDatabase, nil, ""},
	{Athena, "glue:CreateDatabase", glueDatabase, nil, ""},
	{Athena, "glue:GetTable", glueDatabase, nil, ""},
	{Athena, "glue:CreateTable", glueDatabase, nil, ""},
	{Athena, "glue:UpdateTable", glueDatabase, nil, ""},
	{Athena, "glue:GetTable", glueTables, nil, ""},
	{Athena, "glue:CreateTable", glueTables, nil, ""},
	{Athena, "glue:UpdateTable", glueTables, nil, ""},
	{Athena, "glue:GetPartitions", glueCatalog, []string{"Glue.GetPartitions"},
		"with compaction on: the registered partitions of compacted days (docs/compaction.md)"},
	{Athena, "glue:BatchCreatePartition", glueCatalog, []string{"Glue.BatchCreatePartition"}, ""},
	{Athena, "glue:UpdatePartition", glueCatalog, []string{"Glue.UpdatePartition"}, ""},
	{Athena, "glue:BatchDeletePartition", glueCatalog, []string{"Glue.BatchDeletePartition"}, ""},
	{Athena, "glue:GetPartitions", glueDatabase, nil, ""},
	{Athena, "glue:BatchCreatePartition", glueDatabase, nil, ""},
	{Athena, "glue:UpdatePartition", glueDatabase, nil, ""},
	{Athena, "glue:BatchDeletePartition", glueDatabase, nil, ""},
	{Athena, "glue:GetPartitions", glueTables, nil, ""},
	{Athena, "glue:BatchCreatePartition", glueTables, nil, ""},
	{Athena, "glue:UpdatePartition", glueTables, nil, ""},
	{Athena, "glue:BatchDeletePartition", glueTables, nil, ""},
}

// Covers reports whether operation ("<service id>.<operation>") is in the list.
func Covers(operation string) bool {
	for _, p := range All {
		if slices.Contains(p.Operations, operation) {
			return true
		}
	}
	return false
}

// Statement is one statement of an IAM policy document.
type Statement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource []string `json:"Resource"`
}

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Policy is the policy of the given parts: per part, one statement per set of resources, with
// the actions allowed on all of them; the placeholders are filled from vars (missing ones keep
// their placeholder).
func Policy(vars map[string]string, parts ...Part) Document {
	doc := Document{Version: "2012-10-17"}
	fill := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, k, v)
		}
		return s
	}
	for _, part := range parts {
		// Group resources by action, then actions with the same resources.
		byAction := map[string][]string{}
		var actions []string
		for _, p := range All {
			if p.Part != part {
				continue
			}
			if _, ok := byAction[p.Action]; !ok {
				actions = append(actions, p.Action)
			}
			byAction[p.Action] = append(byAction[p.Action], fill(p.Resource))
		}
		type group struct{ actions, resources []string }
		var groups []group
		for _, a := range actions {
			res := byAction[a]
			slices.Sort(res)
			i := slices.IndexFunc(groups, func(g group) bool { return slices.Equal(g.resources, res) })
			if i < 0 {
				groups = append(groups, group{resources: res})
				i = len(groups) - 1
			}
			groups[i].actions = append(groups[i].actions, a)
		}
		for n, g := range groups {
			doc.Statement = append(doc.Statement, Statement{Sid: sid(part, n), Effect: "Allow", Action: g.actions, Resource: g.resources})
		}
	}
	return doc
}

func sid(p Part, n int) string {
	name := map[Part]string{Core: "Core", IAMLogins: "IAMLogins", SSM: "SSM", Athena: "Athena"}[p]
	return name + string(rune('A'+n))
}

// JSON renders the document indented, one statement per block.
func (d Document) JSON() string {
	b, _ := json.MarshalIndent(d, "", "  ")
	return string(b)
}
