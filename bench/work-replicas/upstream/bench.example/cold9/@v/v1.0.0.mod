module bench.example/cold9

go 1.21
