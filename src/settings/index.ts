export {
  type BankAccount,
  createSettingsProvider,
  defaultsFromConfig,
  type EditableSettings,
  editableSchema,
  missingSettings,
  type SettingsChange,
  type SettingsPatch,
  type SettingsProvider,
  settingsPatchSchema,
  staticSettings,
} from './settings.js';
