/**
 * spot-lab's JupyterLab extension: the threats sidebar (left area) and the commands
 * `spot-lab:open-sidebar` and `spot-lab:investigate` (also in the command palette).
 */
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon } from '@jupyterlab/ui-components';

import { ICON_SVG } from './icon';
import {
  cellSource,
  DataType,
  extensionLoaded,
  insertIndex,
  isDataType,
  LOADED_EXPRESSION
} from './logic';
import { ISidebarConfig, ThreatsSidebar } from './sidebar';

const PLUGIN_ID = 'spot-lab:plugin';

export const spotIcon = new LabIcon({ name: 'spot-lab:icon', svgstr: ICON_SVG });

const CommandIDs = {
  openSidebar: 'spot-lab:open-sidebar',
  investigate: 'spot-lab:investigate'
};

const DEFAULTS: ISidebarConfig = {
  pageSize: 50,
  defaultType: 'flow',
  autoRefreshSeconds: 0
};

function readConfig(settings: ISettingRegistry.ISettings | null): ISidebarConfig {
  if (!settings) {
    return DEFAULTS;
  }
  const type = settings.get('defaultType').composite;
  return {
    pageSize: Number(settings.get('pageSize').composite) || DEFAULTS.pageSize,
    defaultType: isDataType(type) ? type : DEFAULTS.defaultType,
    autoRefreshSeconds: Number(settings.get('autoRefreshSeconds').composite) || 0
  };
}

/** The notebook to write into: the current one, or a new one when none is open; with a
 * running kernel (one is started when the notebook has none). */
async function targetNotebook(
  app: JupyterFrontEnd,
  tracker: INotebookTracker
): Promise<NotebookPanel> {
  let panel = tracker.currentWidget;
  if (!panel) {
    panel = (await app.commands.execute('notebook:create-new', {
      kernelName: 'python3'
    })) as NotebookPanel;
  }
  await panel.context.ready;
  await panel.sessionContext.ready;
  if (!panel.sessionContext.session?.kernel) {
    const name = panel.sessionContext.kernelPreference.name || 'python3';
    await panel.sessionContext.changeKernel({ name });
  }
  app.shell.activateById(panel.id);
  return panel;
}

/** Ask the notebook's kernel (not the notebook's text) whether spot-lab is loaded. */
async function kernelHasSpotLab(panel: NotebookPanel): Promise<boolean> {
  const kernel = panel.sessionContext.session?.kernel;
  if (!kernel) {
    return false;
  }
  try {
    const reply = await kernel.requestExecute({
      code: '',
      silent: true,
      store_history: false,
      user_expressions: { spot_lab: LOADED_EXPRESSION }
    }).done;
    return extensionLoaded(reply.content) === true;
  } catch {
    return false; // `%load_ext spot_lab` in the cell then says what is wrong, if anything
  }
}

/** Insert `%spot_threat …` below the active cell (loading the extension first when the
 * kernel lacks it) and run it. */
async function investigate(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  anchor: string,
  type: DataType,
  date: string
): Promise<void> {
  const panel = await targetNotebook(app, tracker);
  const notebook = panel.content;
  const code = cellSource(anchor, type, date, await kernelHasSpotLab(panel));
  const model = notebook.model;
  if (!model) {
    throw new Error('the notebook is not ready: try again');
  }
  const active = notebook.activeCell;
  // an empty code cell that is active (a new notebook's first) takes the code in place
  const reuse = active?.model.type === 'code' && !active.model.sharedModel.getSource();
  let index = notebook.activeCellIndex;
  if (!reuse) {
    index = insertIndex(notebook.activeCellIndex, model.sharedModel.cells.length);
    model.sharedModel.insertCell(index, { cell_type: 'code', source: code });
  } else {
    active!.model.sharedModel.setSource(code);
  }
  notebook.activeCellIndex = index;
  notebook.deselectAll();
  await NotebookActions.run(notebook, panel.sessionContext);
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'The spot-lab threats sidebar: flagged threats, click to investigate, scoring.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ISettingRegistry, ILabShell],
  activate: async (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    registry: ISettingRegistry | null
  ) => {
    const run = (anchor: string, type: DataType, date: string) =>
      investigate(app, tracker, anchor, type, date);
    // Settings first, so the list opens with the configured type and page size.
    let settings: ISettingRegistry.ISettings | null = null;
    if (registry) {
      try {
        settings = await registry.load(PLUGIN_ID);
      } catch (reason) {
        console.warn('spot-lab: settings not loaded, using defaults', reason);
      }
    }
    const sidebar = new ThreatsSidebar(readConfig(settings), run);
    sidebar.id = 'spot-lab-threats';
    sidebar.title.icon = spotIcon;
    sidebar.title.caption = 'spot-lab threats';
    app.shell.add(sidebar, 'left', { rank: 600 });
    void app.restored.then(() => sidebar.prefetch());

    app.commands.addCommand(CommandIDs.openSidebar, {
      label: 'spot-lab: Show Flagged Threats',
      icon: spotIcon,
      execute: () => app.shell.activateById(sidebar.id)
    });
    app.commands.addCommand(CommandIDs.investigate, {
      label: args =>
        args.anchor
          ? `spot-lab: Investigate ${args.anchor}`
          : 'spot-lab: Investigate a Threat…',
      icon: spotIcon,
      execute: async args => {
        let anchor = typeof args.anchor === 'string' ? args.anchor : '';
        const type = isDataType(args.type) ? args.type : 'flow';
        let date = typeof args.date === 'string' ? args.date : '';
        if (!anchor) {
          anchor = (
            window.prompt('Anchor to investigate (IP, query name or URI):') || ''
          ).trim();
        }
        if (!anchor) {
          return;
        }
        if (!date) {
          date = (window.prompt('Date (YYYY-MM-DD):') || '').trim();
        }
        await run(anchor, type, date);
      }
    });
    if (palette) {
      palette.addItem({ command: CommandIDs.openSidebar, category: 'spot-lab' });
      palette.addItem({ command: CommandIDs.investigate, category: 'spot-lab' });
    }
    settings?.changed.connect(changed => {
      sidebar.config = readConfig(changed);
    });
  }
};

export default plugin;
