// Package awsx turns the product's AWS settings into an aws.Config: where credentials come from
// (the SDK's default chain, static keys, a shared-config profile), an optional role to assume
// with an external id, the region and the retry policy. It owns nothing else: service clients,
// their endpoints and their errors belong to the packages that call them.
package awsx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// AuthType says where credentials come from. The names are those of Grafana's AWS datasources
// (@grafana/aws-sdk), so the config editor's connection form maps onto them as they are.
type AuthType string

const (
	// AuthDefault is the SDK's default chain: environment, shared files, web identity, ECS/EC2 roles.
	AuthDefault AuthType = "default"
	// AuthKeys uses a static access key and secret key.
	AuthKeys AuthType = "keys"
	// AuthProfile uses a named profile of the shared config and credentials files.
	AuthProfile AuthType = "profile"
)

// AuthTypes lists the accepted AuthType values.
var AuthTypes = []AuthType{AuthDefault, AuthKeys, AuthProfile}

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
}

// String describes the settings without their secrets.
func (s Settings) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "auth=%s", s.AuthType)
	if s.AuthType == AuthProfile {
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
	case AuthDefault, "":
	case AuthKeys:
		if s.AccessKey == "" || s.SecretKey == "" {
			return errors.New("awsx: authType keys needs accessKey and secretKey")
		}
	case AuthProfile:
	default:
		return fmt.Errorf("awsx: unknown authType %q (want default, keys or profile)", s.AuthType)
	}
	if s.ExternalID != "" && s.AssumeRoleARN == "" {
		return errors.New("awsx: externalId is set without assumeRoleArn")
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
	case AuthProfile:
		if s.Profile != "" {
			opts = append(opts, awsconfig.WithSharedConfigProfile(s.Profile))
		}
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("awsx: load config: %w", err)
	}
	if s.HTTPClient != nil {
		// Set after loading: a CA bundle from the environment cannot be applied to a plain
		// *http.Client, and the caller's client decides its own transport.
		cfg.HTTPClient = s.HTTPClient
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("awsx: no region: set aws.region (or AWS_REGION)")
	}
	if s.AssumeRoleARN != "" {
		client := sts.NewFromConfig(cfg, func(o *sts.Options) {
			if s.STSEndpoint != "" {
				o.BaseEndpoint = aws.String(s.STSEndpoint)
			}
		})
		role := stscreds.NewAssumeRoleProvider(client, s.AssumeRoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "stlarchive"
			if s.ExternalID != "" {
				o.ExternalID = aws.String(s.ExternalID)
			}
		})
		// The cache refreshes the role's temporary credentials shortly before they expire.
		cfg.Credentials = aws.NewCredentialsCache(role)
	}
	return cfg, nil
}
