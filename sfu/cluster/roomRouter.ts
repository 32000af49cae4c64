// Where a join is served. One node alone serves every room itself (localRouter:
// exactly what Chorus did before clusters). In cluster mode (clusterRouter.ts)
// a room lives on one node, and a join that reaches another node is answered
// WRONG_NODE with the owner's URL: the client core joins there.
export interface RoomRouter {
  /**
   * Resolves when this node serves `room` to the joiner `identity` (it opens
   * the room if needed). Otherwise throws a ChorusError: WRONG_NODE (data:
   * wrongNodeData), CLUSTER_UNAVAILABLE (no Redis, and the room is not open
   * here), SERVER_BUSY (no node can take it).
   */
  route(room: string, identity: string): Promise<void>;
  /** Signaling URLs of the live nodes, handed to clients at join (empty on one node). */
  nodeUrls(): string[];
}

export const localRouter: RoomRouter = {
  route: () => Promise.resolve(),
  nodeUrls: () => [],
};
