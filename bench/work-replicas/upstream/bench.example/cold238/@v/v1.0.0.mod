module bench.example/cold238

go 1.21
