module bench.example/cold246

go 1.21
