/** What every model query needs: one team's rows inserted in [start, end). */
export interface IntervalQuery {
  teamId: number;
  dataIntervalStart: Date;
  dataIntervalEnd: Date;
  includeEvents?: string[] | null;
  excludeEvents?: string[] | null;
}

/** A parameterised query: user-supplied values only ever travel in `values`. */
export interface SqlQuery {
  text: string;
  values: unknown[];
}
