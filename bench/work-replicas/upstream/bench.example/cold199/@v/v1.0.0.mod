module bench.example/cold199

go 1.21
