module bench.example/cold230

go 1.21
