// Fakes of the Grafana services the plugin reaches through @grafana/runtime: the backend (resource
// routes of this datasource) and the template service. Everything else in tests is real.
import { DataSourceInstanceSettings, DataSourceSettings, ScopedVars, TypedVariableModel } from '@grafana/data';
import { BackendSrv, FetchResponse, setBackendSrv, setTemplateSrv, TemplateSrv } from '@grafana/runtime';
import { Observable, of, throwError } from 'rxjs';

import { DataSource } from '../datasource';
import { StlArchiveOptions, StlArchiveSecureJsonData } from '../types';

export const DS_UID = 'stl-test';

/** Serves GET /api/datasources/uid/<uid>/resources/<route> from a map of route → JSON body. */
export function fakeBackend(routes: Record<string, unknown>) {
  const requested: string[] = [];
  /** The query parameters of each request, by route (the last request's). */
  const params: Record<string, unknown> = {};
  const prefix = `/api/datasources/uid/${DS_UID}/resources/`;
  const fetch = (options: { url: string; params?: unknown }): Observable<FetchResponse> => {
    const route = options.url.startsWith(prefix) ? options.url.slice(prefix.length) : options.url;
    requested.push(route);
    params[route] = options.params;
    if (!(route in routes)) {
      return throwError(() => ({ status: 404, data: { message: `no resource ${route}` } }));
    }
    return of({
      data: routes[route],
      status: 200,
      statusText: 'OK',
      ok: true,
      headers: new Headers(),
      redirected: false,
      type: 'basic',
      url: options.url,
      config: { url: options.url },
    });
  };
  setBackendSrv({ fetch } as unknown as BackendSrv);
  return { requested, params };
}

export interface FakeVariable {
  name: string;
  value: string | string[];
  multi?: boolean;
  includeAll?: boolean;
}

type Format = (value: unknown, variable: FakeVariable) => string;

/**
 * A template service that knows a fixed set of variables and replaces $name and ${name} the way
 * Grafana does: scoped values win, a format function receives the value and the variable, and the
 * default format of a multi-value is {a,b}.
 */
export function fakeTemplateSrv(variables: FakeVariable[]): TemplateSrv {
  const find = (name: string) => variables.find((v) => v.name === name);
  const srv = {
    getVariables: () => variables.map((v) => ({ name: v.name, type: 'custom' }) as unknown as TypedVariableModel),
    replace: (target?: string, scopedVars?: ScopedVars, format?: string | Format) =>
      (target ?? '').replace(/\$(\w+)|\$\{(\w+)\}/g, (match, plain?: string, braced?: string) => {
        const name = plain ?? braced ?? '';
        const variable = find(name);
        const scoped = scopedVars?.[name]?.value;
        if (!variable && scoped === undefined) {
          return match;
        }
        const value = scoped ?? variable!.value;
        if (typeof format === 'function') {
          return format(value, variable ?? { name, value });
        }
        return Array.isArray(value) ? `{${value.join(',')}}` : String(value);
      }),
    containsTemplate: (target?: string) => Boolean(target && /\$\w+|\$\{\w+\}/.test(target)),
    updateTimeRange: () => {},
  };
  setTemplateSrv(srv as unknown as TemplateSrv);
  return srv as unknown as TemplateSrv;
}

export function instanceSettings(jsonData: StlArchiveOptions = {}): DataSourceInstanceSettings<StlArchiveOptions> {
  return {
    id: 1,
    uid: DS_UID,
    type: 'stlarchive-redshift-datasource',
    name: 'Redshift STL Archive',
    access: 'proxy',
    readOnly: false,
    jsonData,
    meta: {
      id: 'stlarchive-redshift-datasource',
      name: 'Redshift STL Archive',
      type: 'datasource',
      module: '',
      baseUrl: '',
      info: {
        author: { name: 'Stlarchive' },
        description: '',
        links: [],
        logos: { small: '', large: '' },
        screenshots: [],
        updated: '',
        version: '',
      },
    },
  } as DataSourceInstanceSettings<StlArchiveOptions>;
}

export function newDataSource(jsonData: StlArchiveOptions = {}): DataSource {
  return new DataSource(instanceSettings(jsonData));
}

export function dataSourceSettings(
  jsonData: StlArchiveOptions = {},
  secureJsonFields: Record<string, boolean> = {}
): DataSourceSettings<StlArchiveOptions, StlArchiveSecureJsonData> {
  return {
    id: 1,
    uid: DS_UID,
    orgId: 1,
    name: 'Redshift STL Archive',
    typeLogoUrl: '',
    type: 'stlarchive-redshift-datasource',
    typeName: 'Redshift STL Archive',
    access: 'proxy',
    url: '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    readOnly: false,
    withCredentials: false,
    jsonData,
    secureJsonFields,
    secureJsonData: {},
  };
}
