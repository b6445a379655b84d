// Package awsx turns the product's AWS settings into an aws.Config: where credentials come from
// (the SDK's default chain, static keys, a shared-config profile, the EC2 instance or ECS task
// role, Grafana's own assume role), an optional role to assume with an external id, the region
// and the retry policy, under the restrictions a Grafana administrator sets for AWS datasources.
// It owns nothing else: service clients, their endpoints and their errors belong to the packages
// that call them.
package awsx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
)

// AuthType says where credentials come from. The names are those of Grafana's AWS datasources
// (@grafana/aws-sdk), so the config editor's connection form maps onto them as they are.
type AuthType string

const (
	// AuthDefault is the SDK's default chain: environment, shared files, web identity, ECS/EC2 roles.
	AuthDefault AuthType = "default"
	// AuthKeys uses a static access key and secret key.
	AuthKeys AuthType = "keys"
	// AuthCredentials uses a named profile of the shared config and credentials files
	// (Grafana's "Credentials file").
	AuthCredentials AuthType = "credentials"
	// AuthProfile is this product's earlier name of AuthCredentials.
	AuthProfile AuthType = "profile"
	// AuthEC2IAMRole uses the role of the EC2 instance (IMDS) or, in an ECS task, the task role
	// (the container credentials endpoint), and nothing else: no environment, no shared files.
	AuthEC2IAMRole AuthType = "ec2_iam_role"
	// AuthGrafanaAssumeRole assumes AssumeRoleARN with credentials Grafana provides (Grafana
	// Cloud: the shared-file profile assume_role_credentials) and the external id Grafana sets.
	AuthGrafanaAssumeRole AuthType = "grafana_assume_role"
)

// AuthTypes lists the accepted AuthType values.
var AuthTypes = []AuthType{AuthDefault, AuthKeys, AuthCredentials, AuthProfile, AuthEC2IAMRole, AuthGrafanaAssumeRole}

// Provider is the name Grafana's allowed_auth_providers uses for the auth type.
func (a AuthType) Provider() string {
	switch a {
	case "", AuthDefault, "arn":
		return string(AuthDefault)
	case AuthProfile, "sharedCreds":
		return string(AuthCredentials)
	}
	return string(a)
}

// grafanaAssumeRoleProfile is the shared-file profile Grafana provides the source credentials
// of its assume role in, when they are not mounted elsewhere.
const grafanaAssumeRoleProfile = "assume_role_credentials"

// The variables through which Grafana passes its [aws] settings to plugins: per request in the
// plugin context's Grafana config, and in the plugin's environment.
const (
	EnvAllowedAuthProviders = "AWS_AUTH_AllowedAuthProviders"
	EnvAssumeRoleEnabled    = "AWS_AUTH_AssumeRoleEnabled"
	EnvExternalID           = "AWS_AUTH_EXTERNAL_ID"
	EnvSessionDuration      = "AWS_AUTH_SESSION_DURATION"
)

// Restrictions are what a Grafana administrator allows AWS datasources ([aws] in grafana.ini):
// the auth providers, whether a role may be assumed, the external id of Grafana's own assume
// role, and how long assumed-role sessions last.
type Restrictions struct {
	// AllowedAuthProviders in Grafana's names: default, keys, credentials, ec2_iam_role,
	// grafana_assume_role.
	AllowedAuthProviders []string
	AssumeRoleEnabled    bool
	// ExternalID is Grafana's, for grafana_assume_role; a datasource's externalId is its own.
	ExternalID string
	// SessionDuration of assumed-role credentials; 0 keeps STS's default (15 minutes).
	SessionDuration time.Duration
}

// DefaultAllowedAuthProviders are Grafana's when its administrator sets none.
var DefaultAllowedAuthProviders = []string{"default", "keys", "credentials"}

// ReadRestrictions reads Grafana's restrictions from get (the plugin context's Grafana config,
// or the environment), with Grafana's defaults for what is not set. An unreadable value is an
// error naming the variable: a restriction is never silently dropped.
func ReadRestrictions(get func(string) string) (*Restrictions, error) {
	r := &Restrictions{AllowedAuthProviders: DefaultAllowedAuthProviders, AssumeRoleEnabled: true}
	if v := get(EnvAllowedAuthProviders); strings.TrimSpace(v) != "" {
		var list []string
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				list = append(list, p)
			}
		}
		r.AllowedAuthProviders = list
	}
	if v := strings.TrimSpace(get(EnvAssumeRoleEnabled)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("awsx: Grafana's %s is %q, not true or false", EnvAssumeRoleEnabled, v)
		}
		r.AssumeRoleEnabled = b
	}
	r.ExternalID = get(EnvExternalID)
	if v := strings.TrimSpace(get(EnvSessionDuration)); v != "" {
		d, err := parseDuration(v)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("awsx: Grafana's %s is %q, not a duration such as 15m", EnvSessionDuration, v)
		}
		r.SessionDuration = d
	}
	return r, nil
}

// parseDuration reads Go durations and Grafana's day and week units (1d, 1w).
func parseDuration(v string) (time.Duration, error) {
	for unit, d := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(v, unit); ok {
			i, err := strconv.Atoi(n)
			return time.Duration(i) * d, err
		}
	}
	return time.ParseDuration(v)
}

// HasRestrictions reports whether get sets any of Grafana's AWS variables.
func HasRestrictions(get func(string) string) bool {
	for _, k := range []string{EnvAllowedAuthProviders, EnvAssumeRoleEnabled, EnvExternalID, EnvSessionDuration} {
		if get(k) != "" {
			return true
		}
	}
	return false
}

// DefaultMaxAttempts is how often a request is tried, first attempt included, before its error
// is returned. The SDK's standard retryer waits with exponential backoff and jitter in between.
const DefaultMaxAttempts = 5

// Settings are the AWS settings of one datasource.
type Settings struct {
	AuthType AuthType
	// Profile is the shared-config profile for AuthProfile; empty means "default".
	Profile string
	// AccessKey and SecretKey are the static keys for AuthKeys.
	AccessKey string
	SecretKey string
	// AssumeRoleARN, when set, is assumed with the credentials above; ExternalID goes with it.
	AssumeRoleARN string
	ExternalID    string
	// Region of the services; empty takes the region of the default chain (AWS_REGION, profile).
	Region string
	// STSEndpoint overrides the endpoint of the role assumption (a VPC endpoint, a test server).
	STSEndpoint string
	// MaxAttempts per request; 0 means DefaultMaxAttempts.
	MaxAttempts int
	// MaxBackoff caps the wait between attempts; 0 keeps the SDK's (20s).
	MaxBackoff time.Duration
	// HTTPClient replaces the SDK's HTTP client (tests record requests with it).
	HTTPClient *http.Client
	// Restrictions, when set, are the Grafana administrator's: an auth type or a role
	// assumption they do not allow is an error. Nil (the CLI outside Grafana) restricts nothing.
	Restrictions *Restrictions
	// Observe, when set, is told the service id and operation of every call the clients of the
	// config make (the IAM policy test collects them).
	Observe func(service, operation string)
}

// String describes the settings without their secrets.
func (s Settings) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "auth=%s", s.AuthType)
	if s.AuthType == AuthProfile || s.AuthType == AuthCredentials {
		fmt.Fprintf(&b, " profile=%s", s.Profile)
	}
	if s.AuthType == AuthKeys {
		// The access key id is not secret, but half of it is enough to tell keys apart.
		fmt.Fprintf(&b, " accessKey=%s…", s.AccessKey[:min(len(s.AccessKey), 8)])
	}
	if s.AssumeRoleARN != "" {
		fmt.Fprintf(&b, " assumeRole=%s", s.AssumeRoleARN)
		if s.ExternalID != "" {
			b.WriteString(" externalId=set")
		}
	}
	if s.Region != "" {
		fmt.Fprintf(&b, " region=%s", s.Region)
	}
	return b.String()
}

// Check reports the first problem of the settings, naming the field.
func (s Settings) Check() error {
	switch s.AuthType {
	case AuthDefault, "", "arn":
	case AuthKeys:
		if s.AccessKey == "" || s.SecretKey == "" {
			return errors.New("awsx: authType keys needs accessKey and secretKey")
		}
	case AuthProfile, AuthCredentials, "sharedCreds", AuthEC2IAMRole:
	case AuthGrafanaAssumeRole:
		if s.AssumeRoleARN == "" {
			return errors.New("awsx: authType grafana_assume_role needs assumeRoleArn: the role Grafana assumes")
		}
		if s.Restrictions == nil || s.Restrictions.ExternalID == "" {
			return fmt.Errorf("awsx: authType grafana_assume_role needs the external id Grafana provides (%s); this Grafana sets none", EnvExternalID)
		}
	default:
		return fmt.Errorf("awsx: unknown authType %q (want default, keys, credentials, ec2_iam_role or grafana_assume_role)", s.AuthType)
	}
	if s.ExternalID != "" && s.AssumeRoleARN == "" {
		return errors.New("awsx: externalId is set without assumeRoleArn")
	}
	if r := s.Restrictions; r != nil {
		if p := s.AuthType.Provider(); !slices.Contains(r.AllowedAuthProviders, p) {
			return fmt.Errorf("awsx: authType %s is not allowed by this Grafana (allowed_auth_providers: %s)", p, strings.Join(r.AllowedAuthProviders, ", "))
		}
		if s.AssumeRoleARN != "" && s.AuthType != AuthGrafanaAssumeRole && !r.AssumeRoleEnabled {
			return errors.New("awsx: assumeRoleArn is set, but this Grafana does not allow assuming a role (assume_role_enabled = false)")
		}
	}
	return nil
}

// Load builds the aws.Config of the settings. It reads the shared files and the environment as
// the SDK does, but makes no network call: credentials are fetched on the first request.
func Load(ctx context.Context, s Settings) (aws.Config, error) {
	if err := s.Check(); err != nil {
		return aws.Config{}, err
	}
	attempts := s.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				if s.MaxBackoff > 0 {
					o.MaxBackoff = s.MaxBackoff
				}
			})
		}),
	}
	if s.Region != "" {
		opts = append(opts, awsconfig.WithRegion(s.Region))
	}
	switch s.AuthType {
	case AuthKeys:
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")))
	case AuthProfile, AuthCredentials, "sharedCreds":
		if s.Profile != "" {
			opts = append(opts, awsconfig.WithSharedConfigProfile(s.Profile))
		}
	case AuthGrafanaAssumeRole:
		opts = append(opts, awsconfig.WithSharedConfigProfile(grafanaAssumeRoleProfile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("awsx: load config: %w", err)
	}
	if s.Observe != nil {
		observe := s.Observe
		cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("stlarchiveObserve",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					observe(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx))
					return next.HandleFinalize(ctx, in)
				}), middleware.After)
		})
	}
	if s.HTTPClient != nil {
		// Set after loading: a CA bundle from the environment cannot be applied to a plain
		// *http.Client, and the caller's client decides its own transport.
		cfg.HTTPClient = s.HTTPClient
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("awsx: no region: set aws.region (or AWS_REGION)")
	}
	if s.AuthType == AuthEC2IAMRole {
		cfg.Credentials = aws.NewCredentialsCache(instanceRole(cfg))
	}
	if s.AssumeRoleARN != "" {
		client := sts.NewFromConfig(cfg, func(o *sts.Options) {
			if s.STSEndpoint != "" {
				o.BaseEndpoint = aws.String(s.STSEndpoint)
			}
		})
		role := stscreds.NewAssumeRoleProvider(client, s.AssumeRoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "stlarchive"
			externalID := s.ExternalID
			if s.AuthType == AuthGrafanaAssumeRole {
				// Grafana's external id names the Grafana stack: a datasource cannot choose it.
				externalID = s.Restrictions.ExternalID
			}
			if externalID != "" {
				o.ExternalID = aws.String(externalID)
			}
			if r := s.Restrictions; r != nil && r.SessionDuration > 0 {
				o.Duration = r.SessionDuration
			}
		})
		// The cache refreshes the role's temporary credentials shortly before they expire.
		cfg.Credentials = aws.NewCredentialsCache(role)
	}
	return cfg, nil
}

// instanceRole is the role of the ECS task when the container credentials endpoint is set
// (AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI, with an optional authorization token),
// else the EC2 instance's role from the instance metadata service.
func instanceRole(cfg aws.Config) aws.CredentialsProvider {
	uri := os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
	if rel := os.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); rel != "" {
		uri = "http://169.254.170.2" + rel
	}
	if uri != "" {
		return endpointcreds.New(uri, func(o *endpointcreds.Options) {
			o.HTTPClient = cfg.HTTPClient
			if tok := os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"); tok != "" {
				o.AuthorizationToken = tok
			}
			if file := os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file != "" {
				o.AuthorizationTokenProvider = endpointcreds.TokenProviderFunc(func() (string, error) {
					b, err := os.ReadFile(file)
					return strings.TrimSpace(string(b)), err
				})
			}
		})
	}
	return ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = imds.NewFromConfig(cfg) })
}
