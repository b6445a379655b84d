package awsfake

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
)

const redshiftXMLNS = "http://redshift.amazonaws.com/doc/2012-12-01/"

// RedshiftCluster is a provisioned cluster as DescribeClusters shows it.
type RedshiftCluster struct {
	Identifier string
	// Address and Port form the endpoint; an empty Address means the cluster has none yet.
	Address string
	Port    int
	DBName  string
	// Status defaults to "available".
	Status string
	// Region, when set, is the only region whose API knows the cluster: requests signed for
	// another region do not list it and get ClusterNotFound, as Redshift answers them.
	// Empty means every region.
	Region string
}

// inRegion says whether a request signed for region sees the cluster.
func (c RedshiftCluster) inRegion(region string) bool {
	return c.Region == "" || c.Region == region
}

// IssuedCredentials are temporary database credentials the fake handed out.
type IssuedCredentials struct {
	Action     string
	Region     string
	Cluster    string
	DBUser     string
	DBName     string
	DBGroups   []string
	AutoCreate bool
	Password   string
	Expiration time.Time
}

// Redshift is a fake of the Redshift management API (Query protocol, XML responses). It answers
// DescribeClusters, GetClusterCredentials and GetClusterCredentialsWithIAM.
type Redshift struct {
	// URL is the endpoint to give clients as BaseEndpoint.
	URL string
	// PageSize caps the clusters per DescribeClusters page below the caller's MaxRecords, so
	// tests can paginate through few clusters. Zero means no cap.
	PageSize int
	// Now is the fake's clock for credential expirations; default time.Now.
	Now func() time.Time
	// IAMIdentity is the caller's IAM user or role name that GetClusterCredentialsWithIAM maps
	// to a database user ("IAMR:<name>"). Default "stlarchive".
	IAMIdentity string
	// OnCredentials, when set, runs before credentials are returned, e.g. to create the user
	// with that password on a PostgreSQL standing in for the cluster. An error fails the call
	// with InternalFailure.
	OnCredentials func(IssuedCredentials) error

	mu       sync.Mutex
	clusters []RedshiftCluster
	requests []RedshiftRequest
	denied   map[string]bool
	issued   []IssuedCredentials
}

// RedshiftRequest is one request the fake received.
type RedshiftRequest struct {
	Action string
	Form   url.Values
	// Region is the region the request was signed for.
	Region string
}

// NewRedshift starts a fake that the end of the test stops.
func NewRedshift(t testing.TB) *Redshift {
	r := &Redshift{denied: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// AddCluster adds a cluster; DescribeClusters lists clusters in the order they were added.
func (r *Redshift) AddCluster(c RedshiftCluster) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.Status == "" {
		c.Status = "available"
	}
	r.clusters = append(r.clusters, c)
}

// Deny makes every later call of action fail with AccessDenied, as IAM answers a caller whose
// policy does not allow redshift:<action>.
func (r *Redshift) Deny(action string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.denied[action] = true
}

// Requests returns the requests received so far.
func (r *Redshift) Requests() []RedshiftRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

// Issued returns the credentials handed out so far.
func (r *Redshift) Issued() []IssuedCredentials {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.issued)
}

// Client is a real Redshift client pointed at the fake, with static credentials and no retries.
func (r *Redshift) Client() *redshift.Client {
	return redshift.NewFromConfig(clientConfig(), func(o *redshift.Options) { o.BaseEndpoint = aws.String(r.URL) })
}

func (r *Redshift) serve(w http.ResponseWriter, req *http.Request) {
	if !signed(req) {
		writeXMLError(w, http.StatusForbidden, "Sender", "MissingAuthenticationToken", "Request is missing Authentication Token")
		return
	}
	if req.Method != http.MethodPost || req.ParseForm() != nil {
		writeXMLError(w, http.StatusBadRequest, "Sender", "MalformedQueryString", "")
		return
	}
	form := req.PostForm
	action := form.Get("Action")
	r.mu.Lock()
	defer r.mu.Unlock()
	region := SigningRegion(req)
	r.requests = append(r.requests, RedshiftRequest{Action: action, Form: form, Region: region})
	if form.Get("Version") != "2012-12-01" {
		writeXMLError(w, http.StatusBadRequest, "Sender", "InvalidParameterValue", "Version must be 2012-12-01")
		return
	}
	if r.denied[action] {
		writeXMLError(w, http.StatusForbidden, "Sender", "AccessDenied", fmt.Sprintf(
			"User: arn:aws:iam::%s:user/stlarchive is not authorized to perform: redshift:%s on resource: %s",
			Account, action, r.resourceARN(action, form)))
		return
	}
	switch action {
	case "DescribeClusters":
		r.describeClusters(w, form, region)
	case "GetClusterCredentials", "GetClusterCredentialsWithIAM":
		r.credentials(w, action, form, region)
	default:
		writeXMLError(w, http.StatusBadRequest, "Sender", "InvalidAction", fmt.Sprintf("Could not find operation %s for version 2012-12-01", action))
	}
}

func (r *Redshift) resourceARN(action string, form url.Values) string {
	id := form.Get("ClusterIdentifier")
	switch action {
	case "GetClusterCredentials":
		return fmt.Sprintf("arn:aws:redshift:%s:%s:dbuser:%s/%s", Region, Account, id, form.Get("DbUser"))
	case "GetClusterCredentialsWithIAM":
		return fmt.Sprintf("arn:aws:redshift:%s:%s:dbname:%s/%s", Region, Account, id, form.Get("DbName"))
	}
	return fmt.Sprintf("arn:aws:redshift:%s:%s:cluster:*", Region, Account)
}

type xmlEndpoint struct {
	Address string `xml:"Address"`
	Port    int    `xml:"Port"`
}

type xmlCluster struct {
	ClusterIdentifier string       `xml:"ClusterIdentifier"`
	ClusterStatus     string       `xml:"ClusterStatus"`
	DBName            string       `xml:"DBName,omitempty"`
	Endpoint          *xmlEndpoint `xml:"Endpoint,omitempty"`
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

func (r *Redshift) describeClusters(w http.ResponseWriter, form url.Values, region string) {
	limit := 100
	if v := form.Get("MaxRecords"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 20 || n > 100 {
			writeXMLError(w, http.StatusBadRequest, "Sender", "InvalidParameterValue", "MaxRecords must be between 20 and 100.")
			return
		}
		limit = n
	}
	if r.PageSize > 0 {
		limit = min(limit, r.PageSize)
	}
	var clusters []RedshiftCluster
	for _, c := range r.clusters {
		if c.inRegion(region) {
			clusters = append(clusters, c)
		}
	}
	if id := form.Get("ClusterIdentifier"); id != "" {
		i := slices.IndexFunc(clusters, func(c RedshiftCluster) bool { return c.Identifier == id })
		if i < 0 {
			writeXMLError(w, http.StatusNotFound, "Sender", "ClusterNotFound", fmt.Sprintf("Cluster %s not found.", id))
			return
		}
		clusters = clusters[i : i+1]
	}
	start := 0
	if m := form.Get("Marker"); m != "" {
		b, err := base64.RawURLEncoding.DecodeString(m)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n <= 0 || n > len(clusters) {
			writeXMLError(w, http.StatusBadRequest, "Sender", "InvalidParameterValue", "Invalid marker.")
			return
		}
		start = n
	}
	end := min(start+limit, len(clusters))
	type result struct {
		Clusters []xmlCluster `xml:"Clusters>Cluster"`
		Marker   string       `xml:"Marker,omitempty"`
	}
	var res result
	for _, c := range clusters[start:end] {
		xc := xmlCluster{ClusterIdentifier: c.Identifier, ClusterStatus: c.Status, DBName: c.DBName}
		if c.Address != "" {
			xc.Endpoint = &xmlEndpoint{Address: c.Address, Port: c.Port}
		}
		res.Clusters = append(res.Clusters, xc)
	}
	if end < len(clusters) {
		res.Marker = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	writeXML(w, struct {
		XMLName  xml.Name         `xml:"DescribeClustersResponse"`
		Xmlns    string           `xml:"xmlns,attr"`
		Result   result           `xml:"DescribeClustersResult"`
		Metadata responseMetadata `xml:"ResponseMetadata"`
	}{Xmlns: redshiftXMLNS, Result: res, Metadata: responseMetadata{requestID()}})
}

func (r *Redshift) credentials(w http.ResponseWriter, action string, form url.Values, region string) {
	id := form.Get("ClusterIdentifier")
	if id == "" {
		writeXMLError(w, http.StatusBadRequest, "Sender", "MissingParameter", "The request must contain the parameter ClusterIdentifier.")
		return
	}
	if action == "GetClusterCredentials" && form.Get("DbUser") == "" {
		writeXMLError(w, http.StatusBadRequest, "Sender", "MissingParameter", "The request must contain the parameter DbUser.")
		return
	}
	if !slices.ContainsFunc(r.clusters, func(c RedshiftCluster) bool { return c.Identifier == id && c.inRegion(region) }) {
		writeXMLError(w, http.StatusNotFound, "Sender", "ClusterNotFound", fmt.Sprintf("Cluster %s not found.", id))
		return
	}
	duration := 900
	if v := form.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 900 || n > 3600 {
			writeXMLError(w, http.StatusBadRequest, "Sender", "InvalidParameterValue", "DurationSeconds must be between 900 and 3600 seconds.")
			return
		}
		duration = n
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	ic := IssuedCredentials{
		Action:     action,
		Region:     region,
		Cluster:    id,
		DBName:     form.Get("DbName"),
		AutoCreate: form.Get("AutoCreate") == "true",
		Password:   "AV" + rand.Text(),
		// The API reports expirations to the second.
		Expiration: now().UTC().Add(time.Duration(duration) * time.Second).Truncate(time.Second),
	}
	if action == "GetClusterCredentials" {
		ic.DBUser = "IAM:" + form.Get("DbUser")
		for i := 1; form.Has(fmt.Sprintf("DbGroups.DbGroup.%d", i)); i++ {
			ic.DBGroups = append(ic.DBGroups, form.Get(fmt.Sprintf("DbGroups.DbGroup.%d", i)))
		}
	} else {
		identity := r.IAMIdentity
		if identity == "" {
			identity = "stlarchive"
		}
		ic.DBUser = "IAMR:" + identity
	}
	if r.OnCredentials != nil {
		if err := r.OnCredentials(ic); err != nil {
			writeXMLError(w, http.StatusInternalServerError, "Receiver", "InternalFailure", "An internal error occurred.")
			return
		}
	}
	r.issued = append(r.issued, ic)
	type result struct {
		XMLName         xml.Name
		DbUser          string `xml:"DbUser"`
		DbPassword      string `xml:"DbPassword"`
		Expiration      string `xml:"Expiration"`
		NextRefreshTime string `xml:"NextRefreshTime,omitempty"`
	}
	res := result{XMLName: xml.Name{Local: action + "Result"}, DbUser: ic.DBUser, DbPassword: ic.Password, Expiration: ic.Expiration.Format(time.RFC3339)}
	if action == "GetClusterCredentialsWithIAM" {
		res.NextRefreshTime = ic.Expiration.Add(-time.Duration(duration) * time.Second / 2).Format(time.RFC3339)
	}
	writeXML(w, struct {
		XMLName  xml.Name
		Xmlns    string `xml:"xmlns,attr"`
		Result   result
		Metadata responseMetadata `xml:"ResponseMetadata"`
	}{XMLName: xml.Name{Local: action + "Response"}, Xmlns: redshiftXMLNS, Result: res, Metadata: responseMetadata{requestID()}})
}

func writeXML(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", requestID())
	b, err := xml.Marshal(v)
	if err != nil {
		writeXMLError(w, http.StatusInternalServerError, "Receiver", "InternalFailure", err.Error())
		return
	}
	_, _ = w.Write(append([]byte(xml.Header), b...))
}

// writeXMLError writes the Query protocol's error document.
func writeXMLError(w http.ResponseWriter, status int, typ, code, message string) {
	type errorBody struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message,omitempty"`
	}
	b, _ := xml.Marshal(struct {
		XMLName   xml.Name  `xml:"ErrorResponse"`
		Xmlns     string    `xml:"xmlns,attr"`
		Error     errorBody `xml:"Error"`
		RequestID string    `xml:"RequestId"`
	}{Xmlns: redshiftXMLNS, Error: errorBody{typ, code, message}, RequestID: requestID()})
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write(append([]byte(xml.Header), b...))
}
