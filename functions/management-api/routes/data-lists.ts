import * as contract from '../../../shared/contract/index.js';
import { implement } from '../../../shared/http/handler.js';
import { actorOf } from '../../../shared/http/principal.js';
import * as dataLists from '../../../shared/store/data-lists.js';
import { dataListDeps, db, objects } from '../deps.js';

/** Data lists: rows given to exactly one unit each. */
export const dataListRoutes = [
  implement(contract.createDataList, async ({ principal, body }) => ({ dataList: await dataLists.createDataList(dataListDeps, principal.accountId, body, actorOf(principal)) })),
  implement(contract.listDataLists, async ({ principal, query }) => dataLists.listDataLists(db, principal.accountId, query)),
  implement(contract.getDataList, async ({ principal, params }) => ({ dataList: await dataLists.getDataList(db, principal.accountId, params.dataListId) })),
  implement(contract.uploadDataListRows, async ({ principal, params, body }) => ({
    dataList: await dataLists.uploadRowsInline(dataListDeps, principal.accountId, params.dataListId, body, actorOf(principal)),
  })),
  implement(contract.createDataListUpload, async ({ principal, params, body }) => {
    const { uploadId } = await dataLists.beginUpload(db, principal.accountId, params.dataListId, body, actorOf(principal));
    const upload = await objects.presignDataListUpload(principal.accountId, params.dataListId, uploadId, body.sha256);
    return { uploadId, upload: { ...upload, method: 'PUT' as const } };
  }),
];
