module bench.example/cold240

go 1.21
