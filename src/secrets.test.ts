import { forgetPassword, renamePassword } from './secrets';
import { dataSourceSettings } from './testing/fakes';

describe('password keys', () => {
  it('forgetting a password that was only typed drops the key instead of sending an empty one', () => {
    const typed = { ...dataSourceSettings(), secureJsonData: { 'password.a': 'x', 'password.b': 'y' } };
    expect(forgetPassword(typed, 'a').secureJsonData).toEqual({ 'password.b': 'y' });
  });

  it('renaming onto a name with a stored password does not inherit that password', () => {
    const options = { ...dataSourceSettings({}, { 'password.b': true }), secureJsonData: { 'password.a': 'typed' } };
    const next = renamePassword(options, 'a', 'b');
    expect(next.secureJsonData).toEqual({ 'password.b': 'typed' });
    expect(next.secureJsonFields['password.b']).toBe(false);
  });

  it('renaming to the same name changes nothing', () => {
    const options = dataSourceSettings({}, { 'password.a': true });
    expect(renamePassword(options, 'a', 'a')).toBe(options);
  });
});
