package redshift

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsredshift "github.com/aws/aws-sdk-go-v2/service/redshift"
	"github.com/aws/smithy-go"
)

// Auth supplies the database user and password at each connect. Temporary credentials change
// between connects; a static password does not. An Auth that also has an Invalidate() method,
// as *IAMCredentials does, has it called when the server refuses the credentials it gave.
type Auth interface {
	Credentials(ctx context.Context) (user, password string, err error)
}

// CredentialsAPI is the part of the Redshift API that issues temporary database credentials.
type CredentialsAPI interface {
	GetClusterCredentials(ctx context.Context, in *awsredshift.GetClusterCredentialsInput, opts ...func(*awsredshift.Options)) (*awsredshift.GetClusterCredentialsOutput, error)
	GetClusterCredentialsWithIAM(ctx context.Context, in *awsredshift.GetClusterCredentialsWithIAMInput, opts ...func(*awsredshift.Options)) (*awsredshift.GetClusterCredentialsWithIAMOutput, error)
}

var _ CredentialsAPI = (*awsredshift.Client)(nil)

// IAMAuth says which temporary credentials to ask Redshift for.
type IAMAuth struct {
	// ClusterID is the Redshift cluster identifier.
	ClusterID string
	// DBUser is the database user to log in as (GetClusterCredentials). Redshift prefixes it
	// with "IAM:" in the user name it returns.
	DBUser string
	// DBGroups the user joins for the session, and AutoCreate creates the user when missing.
	DBGroups   []string
	AutoCreate bool
	// DBName, when set, restricts the credentials to one database.
	DBName string
	// WithIAMIdentity calls GetClusterCredentialsWithIAM instead: the database user is the
	// caller's AWS identity, and DBUser, DBGroups and AutoCreate do not apply.
	WithIAMIdentity bool
	// DurationSeconds is how long the password is valid, 900 to 3600; 0 leaves Redshift's 900.
	DurationSeconds int
}

func (a IAMAuth) action() string {
	if a.WithIAMIdentity {
		return "redshift:GetClusterCredentialsWithIAM"
	}
	return "redshift:GetClusterCredentials"
}

// DefaultRefreshBefore is how long before their expiration cached credentials are replaced, so
// that a connect never starts with a password about to lapse.
const DefaultRefreshBefore = time.Minute

// IAMCredentials is an Auth that asks Redshift for temporary credentials and reuses them until
// shortly before they expire. It is safe for concurrent use; set the fields before first use.
type IAMCredentials struct {
	API  CredentialsAPI
	Auth IAMAuth
	// RefreshBefore is how long before the expiration new credentials are fetched; 0 means
	// DefaultRefreshBefore.
	RefreshBefore time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	user     string
	password string
	expires  time.Time
}

var _ Auth = (*IAMCredentials)(nil)

// Credentials returns the cached user and password, or fetches new ones when they are missing or
// about to expire. Concurrent callers wait for one fetch.
func (c *IAMCredentials) Credentials(ctx context.Context) (string, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	before := c.RefreshBefore
	if before <= 0 {
		before = DefaultRefreshBefore
	}
	if c.password != "" && now().Before(c.expires.Add(-before)) {
		return c.user, c.password, nil
	}
	user, password, expires, err := c.fetch(ctx)
	if err != nil {
		return "", "", err
	}
	if expires.IsZero() {
		// Redshift always sends Expiration; without one, assume the shortest validity.
		expires = now().Add(15 * time.Minute)
	}
	c.user, c.password, c.expires = user, password, expires
	return user, password, nil
}

// Invalidate drops the cached credentials, so the next call fetches new ones. ConnectWith calls
// it when the server refuses them before their expiration.
func (c *IAMCredentials) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.user, c.password, c.expires = "", "", time.Time{}
}

// Expiration is when the cached credentials lapse; zero before the first fetch.
func (c *IAMCredentials) Expiration() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expires
}

func (c *IAMCredentials) fetch(ctx context.Context) (user, password string, expires time.Time, err error) {
	a := c.Auth
	var duration *int32
	if a.DurationSeconds > 0 {
		duration = aws.Int32(int32(a.DurationSeconds))
	}
	var dbName *string
	if a.DBName != "" {
		dbName = aws.String(a.DBName)
	}
	if a.WithIAMIdentity {
		out, err := c.API.GetClusterCredentialsWithIAM(ctx, &awsredshift.GetClusterCredentialsWithIAMInput{
			ClusterIdentifier: aws.String(a.ClusterID),
			DbName:            dbName,
			DurationSeconds:   duration,
		})
		if err != nil {
			return "", "", time.Time{}, a.wrap(err)
		}
		return aws.ToString(out.DbUser), aws.ToString(out.DbPassword), aws.ToTime(out.Expiration), nil
	}
	if a.DBUser == "" {
		return "", "", time.Time{}, fmt.Errorf("%s for cluster %s: no database user to ask credentials for", a.action(), a.ClusterID)
	}
	in := &awsredshift.GetClusterCredentialsInput{
		ClusterIdentifier: aws.String(a.ClusterID),
		DbUser:            aws.String(a.DBUser),
		DbName:            dbName,
		DurationSeconds:   duration,
		DbGroups:          a.DBGroups,
	}
	if a.AutoCreate {
		in.AutoCreate = aws.Bool(true)
	}
	out, err := c.API.GetClusterCredentials(ctx, in)
	if err != nil {
		return "", "", time.Time{}, a.wrap(err)
	}
	return aws.ToString(out.DbUser), aws.ToString(out.DbPassword), aws.ToTime(out.Expiration), nil
}

// wrap names the cluster and the IAM action of a failed call, and says what to grant when the
// caller is not allowed. AWS error messages carry no password; none is added here.
func (a IAMAuth) wrap(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
			return fmt.Errorf("%s for cluster %s denied: allow the AWS identity %s on the cluster's %s: %w",
				a.action(), a.ClusterID, a.action(), a.resource(), err)
		}
	}
	return fmt.Errorf("%s for cluster %s: %w", a.action(), a.ClusterID, err)
}

// resource names the ARN shape the IAM policy must allow.
func (a IAMAuth) resource() string {
	if a.WithIAMIdentity {
		return fmt.Sprintf("dbname resource (arn:aws:redshift:<region>:<account>:dbname:%s/*)", a.ClusterID)
	}
	return fmt.Sprintf("dbuser resource (arn:aws:redshift:<region>:<account>:dbuser:%s/%s)", a.ClusterID, a.DBUser)
}
