// Cluster passwords live in secureJsonData under `password.<cluster name>`. Grafana never sends a
// saved secret back to the browser; it only reports in secureJsonFields that one is stored. So a
// stored password cannot be moved to a new key: renaming a cluster clears the old key and asks for
// the password again, while a password typed but not yet saved follows the cluster to its new name.
import { DataSourceSettings } from '@grafana/data';

import { passwordKey, StlArchiveOptions, StlArchiveSecureJsonData } from './types';

type Settings = DataSourceSettings<StlArchiveOptions, StlArchiveSecureJsonData>;

/** Sets a password typed for the cluster. */
export function setPassword(options: Settings, cluster: string, password: string): Settings {
  return {
    ...options,
    secureJsonData: { ...options.secureJsonData, [passwordKey(cluster)]: password },
  };
}

/** Forgets the cluster's password: a stored one is overwritten with empty on save. */
export function resetPassword(options: Settings, cluster: string): Settings {
  const key = passwordKey(cluster);
  return {
    ...options,
    secureJsonFields: { ...options.secureJsonFields, [key]: false },
    secureJsonData: { ...options.secureJsonData, [key]: '' },
  };
}

/** Reports whether a password for the cluster is stored in Grafana. */
export function isPasswordConfigured(options: Settings, cluster: string): boolean {
  return Boolean(options.secureJsonFields?.[passwordKey(cluster)]);
}

/**
 * Drops the cluster's password: a stored one is reset, a typed one is discarded, so removing a
 * cluster never leaves its secret behind.
 */
export function forgetPassword(options: Settings, cluster: string): Settings {
  if (isPasswordConfigured(options, cluster)) {
    return resetPassword(options, cluster);
  }
  const key = passwordKey(cluster);
  if (!options.secureJsonData || !(key in options.secureJsonData)) {
    return options;
  }
  const { [key]: _dropped, ...rest } = options.secureJsonData;
  return { ...options, secureJsonData: rest };
}

/** Moves the password key from one cluster name to another. */
export function renamePassword(options: Settings, from: string, to: string): Settings {
  if (from === to) {
    return options;
  }
  const typed = options.secureJsonData?.[passwordKey(from)];
  let next = forgetPassword(options, from);
  if (to === '') {
    return next;
  }
  // A password stored under the new name belonged to another cluster once; it must not apply.
  next = forgetPassword(next, to);
  if (typed) {
    next = setPassword(next, to, typed);
  }
  return next;
}
