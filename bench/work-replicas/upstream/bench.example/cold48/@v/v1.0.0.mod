module bench.example/cold48

go 1.21
