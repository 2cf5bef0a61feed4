module bench.example/cold130

go 1.21
