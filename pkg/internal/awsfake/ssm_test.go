package awsfake_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
)

func TestSSMGetParametersDecryptsOnlyWhenAsked(t *testing.T) {
	fake := awsfake.NewSSM(t)
	fake.Put("app.plain", awsfake.String, "hello")
	fake.Put("app.list", awsfake.StringList, "a,b")
	fake.Put("app.secret", awsfake.SecureString, "s3cr3t")
	client := fake.Client()
	for _, decrypt := range []bool{false, true} {
		t.Run(fmt.Sprint("decrypt=", decrypt), func(t *testing.T) {
			out, err := client.GetParameters(context.Background(), &ssm.GetParametersInput{
				Names:          []string{"app.plain", "app.list", "app.secret", "app.missing"},
				WithDecryption: aws.Bool(decrypt),
			})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]types.Parameter{}
			for _, p := range out.Parameters {
				got[aws.ToString(p.Name)] = p
			}
			wantSecret := awsfake.Ciphertext("s3cr3t")
			if decrypt {
				wantSecret = "s3cr3t"
			}
			for name, want := range map[string]struct {
				typ   types.ParameterType
				value string
			}{
				"app.plain":  {types.ParameterTypeString, "hello"},
				"app.list":   {types.ParameterTypeStringList, "a,b"},
				"app.secret": {types.ParameterTypeSecureString, wantSecret},
			} {
				p, ok := got[name]
				if !ok {
					t.Fatalf("%s missing from %v", name, out.Parameters)
				}
				if p.Type != want.typ || aws.ToString(p.Value) != want.value {
					t.Errorf("%s = %s %q, want %s %q", name, p.Type, aws.ToString(p.Value), want.typ, want.value)
				}
				if p.LastModifiedDate == nil || p.LastModifiedDate.IsZero() || p.Version != 1 {
					t.Errorf("%s: version %d, modified %v", name, p.Version, p.LastModifiedDate)
				}
			}
			if !decrypt && strings.Contains(aws.ToString(got["app.secret"].Value), "s3cr3t") {
				t.Error("SecureString read without decryption carries the plain value")
			}
			if len(out.InvalidParameters) != 1 || out.InvalidParameters[0] != "app.missing" {
				t.Errorf("InvalidParameters = %v, want [app.missing]", out.InvalidParameters)
			}
		})
	}
	reqs := fake.Requests()
	if len(reqs) != 2 || reqs[0].Action != "GetParameters" || reqs[0].WithDecryption || !reqs[1].WithDecryption || len(reqs[1].Names) != 4 {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestSSMErrorsReachTheSDKAsTypedErrors(t *testing.T) {
	fake := awsfake.NewSSM(t)
	client := fake.Client()
	ctx := context.Background()

	names := make([]string, 11)
	for i := range names {
		names[i] = fmt.Sprintf("p%d", i)
	}
	_, err := client.GetParameters(ctx, &ssm.GetParametersInput{Names: names})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ValidationException" || !strings.Contains(api.ErrorMessage(), "less than or equal to 10") {
		t.Errorf("11 names: err = %v, want ValidationException on the limit of 10", err)
	}

	_, err = client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("nope")})
	var notFound *types.ParameterNotFound
	if !errors.As(err, &notFound) {
		t.Errorf("GetParameter of a missing name: err = %v, want ParameterNotFound", err)
	}

	fake.Fail("GetParameters", "AccessDeniedException", "not authorized to perform: ssm:GetParameters")
	_, err = client.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"p1"}})
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" || !strings.Contains(api.ErrorMessage(), "ssm:GetParameters") {
		t.Errorf("denied: err = %v, want AccessDeniedException", err)
	}
}

func TestSSMRefusesUnsignedRequests(t *testing.T) {
	fake := awsfake.NewSSM(t)
	client := ssm.New(ssm.Options{Region: awsfake.Region, BaseEndpoint: aws.String(fake.URL), Credentials: aws.AnonymousCredentials{}})
	_, err := client.GetParameters(context.Background(), &ssm.GetParametersInput{Names: []string{"p"}})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "MissingAuthenticationTokenException" {
		t.Errorf("err = %v, want MissingAuthenticationTokenException", err)
	}
}
