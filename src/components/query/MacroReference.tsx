import { Stack, Text } from '@grafana/ui';
import React from 'react';

import { MacroInfo } from '../../types';

interface Props {
  macros: MacroInfo[];
}

/** The macros the backend expands, with their arguments and what they become, beside the editor. */
export function MacroReference({ macros }: Props) {
  return (
    <section aria-label="Macro reference">
      <Stack direction="column" gap={0.5}>
        <Text variant="h6">Macros</Text>
        <Text color="secondary" variant="bodySmall">
          Expanded by the backend for the engine&apos;s dialect. Template variables ($cluster, &apos;$var&apos;) are
          replaced before, as quoted values.
        </Text>
        <table>
          <tbody>
            {macros.map((m) => (
              <tr key={m.name}>
                <td style={{ verticalAlign: 'top', paddingRight: 16, whiteSpace: 'nowrap' }}>
                  <code>
                    {m.name}
                    {m.args}
                  </code>
                </td>
                <td>
                  <Text variant="bodySmall">{m.description}</Text>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Stack>
    </section>
  );
}
