// Placeholder until the engine library is written: only _p.util.queryParse.
(function (native) {
  var p = { util: { queryParse: native.queryParse } };
  _p = p;
  dc = p;
})(__pgo);
