// Renders the config editor the way Grafana does: inside the datasource's plugin context (which
// @grafana/aws-sdk's form needs), owning the settings and passing every change back.
import { DataSourcePluginContextProvider, DataSourceSettings, EventBusSrv } from '@grafana/data';
import { config, setAppEvents } from '@grafana/runtime';
import { fireEvent, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import React, { useState } from 'react';

import { ConfigEditor } from '../components/ConfigEditor';
import { StlArchiveOptions, StlArchiveSecureJsonData } from '../types';
import { dataSourceSettings, instanceSettings } from './fakes';

export type Settings = DataSourceSettings<StlArchiveOptions, StlArchiveSecureJsonData>;

export type User = ReturnType<typeof userEvent.setup>;

export function renderConfigEditor(initial: Settings = dataSourceSettings()) {
  // Grafana's app event bus: @grafana/aws-sdk's form listens on it for the result of Save & test.
  setAppEvents(new EventBusSrv());
  const emitted: Settings[] = [];
  function Host() {
    const [options, setOptions] = useState(initial);
    return (
      <DataSourcePluginContextProvider instanceSettings={instanceSettings(initial.jsonData)}>
        <ConfigEditor
          options={options}
          onOptionsChange={(next) => {
            emitted.push(next);
            setOptions(next);
          }}
        />
      </DataSourcePluginContextProvider>
    );
  }
  render(<Host />);
  return { last: () => emitted[emitted.length - 1], emitted, user: userEvent.setup({ delay: null }) };
}

/** Focuses a field and enters text in one input event, as pasting does: fast on a busy machine. */
export async function enter(user: User, field: HTMLElement, text: string) {
  await user.click(field);
  await user.paste(text);
}

/** Opens a Select by its input and picks the option with that label. */
export async function choose(user: User, input: HTMLElement, option: string) {
  fireEvent.keyDown(input, { key: 'ArrowDown' });
  await user.click(await screen.findByText(option, { selector: '[role="option"] *' }));
}

/**
 * Sets the AWS auth providers Grafana's server allows, as its default configuration does
 * (allowed_auth_providers = default,keys,credentials; assume_role_enabled = true), and returns a
 * function that restores the previous values.
 */
export function allowAwsAuthProviders(): () => void {
  const { awsAllowedAuthProviders, awsAssumeRoleEnabled } = config;
  config.awsAllowedAuthProviders = ['default', 'keys', 'credentials'];
  config.awsAssumeRoleEnabled = true;
  return () => {
    config.awsAllowedAuthProviders = awsAllowedAuthProviders;
    config.awsAssumeRoleEnabled = awsAssumeRoleEnabled;
  };
}
